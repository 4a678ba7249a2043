// The console's programme: the facilitator adds, edits, reorders, duplicates and
// removes stages, sets the start time and fits the total duration. Each field is
// saved on its own when it changes; a programme arriving meanwhile never
// overwrites a field being typed in (as in plan.js).
import { ACTIONS } from "/protocol.js";
import { busy, h, showError } from "./dom.js";
import { sendAction } from "./live.js";
import { pollMethods } from "./polls.js";
import { t, tn, tk } from "./i18n.js";

const STAGE_LABELS = {
  welcome: t("Welcome"),
  board: t("Board"),
  stakeholder_map: t("Stakeholder map"),
  agenda: t("Agenda"),
  vote: t("Vote"),
  action_plan: t("Action plan"),
  signoff: t("Sign-off"),
  close: t("Close"),
};

// A vote stage's method of new polls: one of the server's (polls.js), or none.
const methods = () => [["", t("— chosen per poll")], ...pollMethods()];

// -- time --------------------------------------------------------------------------------------

const toClock = (minutes) => `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

function duration(minutes) {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (!hours) return t("{n} min", { n: rest });
  return rest ? t("{hours} h {minutes} min", { hours, minutes: rest }) : t("{n} h", { n: hours });
}

// Each stage's start and end from the start time, as the server's schedule has them.
function clockTimes(stages, startsAt) {
  const match = /^(\d\d):(\d\d)$/.exec(startsAt || "");
  if (!match) return null;
  let clock = Number(match[1]) * 60 + Number(match[2]);
  const times = new Map();
  for (const stage of stages) {
    times.set(stage.id, [toClock(clock), toClock(clock + stage.minutes)]);
    clock += stage.minutes;
  }
  return times;
}

// "9:00" reads as "09:00"; anything else goes as typed and the server answers.
function normaliseTime(text) {
  const match = /^(\d{1,2})[:.h](\d\d)$/.exec(text.trim());
  return match ? `${match[1].padStart(2, "0")}:${match[2]}` : text.trim();
}

// A total as "5:30", "5 h 30", "5h" or "330" minutes; null when it is none of these.
function parseDuration(text) {
  const hm = /^(\d{1,2})\s*[:h]\s*(\d{0,2})\s*(?:min)?$/i.exec(text.trim());
  if (hm) return Number(hm[1]) * 60 + Number(hm[2] || 0);
  const m = /^(\d{1,4})\s*(?:min)?$/i.exec(text.trim());
  return m ? Number(m[1]) : null;
}

const startsAtOf = (state) => (state.workshop.display && state.workshop.display.starts_at) || "";

// -- one editable field -------------------------------------------------------------------------

// A field is {el, show(stage), params(stage)}: `show` puts the stored value in the
// control, `params` reads it into stage:edit's parameters.
// Shows the stored value unless someone is typing in it, their change is on the way
// or was refused (``force`` after the answer to a change).
function showField(f, stage, force) {
  const el = f.el;
  const busyHere = el.sending || el.classList.contains("unsaved") || document.activeElement === el;
  if (busyHere && !force) return;
  f.show(stage);
  el.classList.remove("unsaved");
}

// Settings of the stage types the console edits: each kind of control makes it,
// shows a stored value (undefined when the config leaves it out) and reads it back.
const lines = () => ({
  make: (label) => h("textarea", { rows: 4, "aria-label": label }),
  show: (el, value) => { el.value = (value || []).join("\n"); },
  read: (el) => el.value.split("\n").map((l) => l.trim()).filter(Boolean),
});

const check = (fallback) => ({
  make: () => h("input", { type: "checkbox" }),
  show: (el, value) => { el.checked = value === undefined ? fallback : Boolean(value); },
  read: (el) => el.checked,
});

const count = (fallback, max) => ({
  make: (label) => h("input", { type: "number", min: 1, max, step: 1, class: "count", "aria-label": label }),
  show: (el, value) => { el.value = String(value === undefined ? fallback : value); },
  read: (el) => Number(el.value),
});

// options: [value, label] pairs, or a function returning them when the control is made.
const choice = (options) => ({
  make: (label) => h("select", { "aria-label": label },
    ...(typeof options === "function" ? options() : options).map(([v, l]) => h("option", { value: v }, l))),
  show: (el, value) => { el.value = value || ""; },
  read: (el) => el.value || undefined,
});

const SETTINGS = {
  board: [["areas", t("Areas, one per line"), lines()]],
  stakeholder_map: [["participatory", t("Everyone places each stakeholder; the room's median shows"), check(false)]],
  agenda: [
    ["dots_per_participant", t("Dots per participant"), count(3, 20)],
    ["allow_stacking", t("Several dots on one topic"), check(true)],
    ["default_minutes", t("Minutes for a new item"), count(10, 600)],
  ],
  vote: [
    ["method", t("Method of new polls"), choice(methods)],
    ["anonymous", t("Anonymous votes"), check(true)],
    ["group_by", t("Results broken down by"), choice([
      ["", t("Sector (the default)")], ["organisation", t("Organisation")], ["none", t("No breakdown")],
    ])],
  ],
};

// What a setting does beyond the stage itself.
const HINTS = {
  areas: t("New areas appear as groups on the board; removing one here leaves its group in place."),
};

// The stage's whole config as its controls show it: the stored config (so settings
// the console does not edit are kept) with each control's value; a rule belongs to
// its method, so it goes when the method changes.
function configOf(stored, controls) {
  const config = Object.assign({}, stored || {});
  for (const { key, kind, el } of controls) {
    const value = kind.read(el);
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  if (config.method !== (stored || {}).method) delete config.rule;
  return config;
}

// -- the panel -------------------------------------------------------------------------------

// Refusals show in the panel's own error line, not in the stages panel.
export class ConsoleProgramme {
  constructor(live) { this.live = live; this.rows = new Map(); this.key = null; this.state = null; }

  mount(body, summary) {
    this.summary = summary;
    this.list = h("ol", { class: "programme-list" });
    this.el = h("div", { class: "programme" },
      h("p", { class: "error", role: "alert", "data-bind": "error", hidden: true }),
      this.scheduleForm(), this.list, this.addForm());
    body.replaceChildren(this.el);
  }

  stageOf(id) { return this.state && this.state.stages.find((s) => s.id === id); }

  send(button, name, data) { return busy(button, sendAction(this.live, this.el, name, data)); }

  // Sends one field's change; a refusal leaves what was typed, marked unsaved.
  save(f, stageId) {
    const stage = this.stageOf(stageId);
    if (!stage) return;
    f.el.sending = true;
    showError(this.el, null);
    this.live.send(ACTIONS.STAGE_EDIT, Object.assign({ stage_id: stageId }, f.params(stage)))
      .then((ack) => {
        f.el.sending = false;
        const stored = ack.stages.find((s) => s.id === stageId);
        if (stored) showField(f, stored, true);
      })
      .catch((error) => {
        f.el.sending = false;
        f.el.classList.add("unsaved");
        showError(this.el, error);
      });
  }

  watch(f, stageId) {
    f.el.addEventListener("change", () => this.save(f, stageId));
    // Leaving a field without changing it shows what arrived meanwhile.
    f.el.addEventListener("blur", () => {
      const stage = this.stageOf(stageId);
      if (stage) showField(f, stage);
    });
    return f.el;
  }

  // -- schedule --

  scheduleForm() {
    this.startsAt = h("input", {
      maxlength: 5, placeholder: t("HH:MM"), class: "clock-input",
      "aria-label": t("Start time (HH:MM)"), "data-design": "starts-at",
    });
    this.startsAt.addEventListener("change", () => this.schedule({ starts_at: normaliseTime(this.startsAt.value) }, this.startsAt));
    this.startsAt.addEventListener("blur", () => this.showStart(false));
    this.total = h("strong", { "data-design": "total" });
    this.ends = h("span", { "data-design": "ends" });
    this.fitTo = h("input", { placeholder: t("H:MM"), class: "clock-input", "aria-label": t("Total duration to fit"), "data-design": "fit-total" });
    const fit = h("button", { type: "submit", class: "small secondary", "data-design": "fit" }, t("Fit"));
    const fitForm = h("form", { class: "row" }, h("span", { class: "small" }, t("Fit the time boxes to")), this.fitTo, fit);
    fitForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const minutes = parseDuration(this.fitTo.value);
      if (minutes === null) {
        showError(this.el, { message: t("Give the total as H:MM or in minutes, e.g. 5:30 or 330.") });
        return;
      }
      this.send(fit, ACTIONS.WORKSHOP_SCHEDULE, { total_minutes: minutes })
        .then((ack) => { if (ack) this.fitTo.value = ""; });
    });
    return h("div", { class: "row schedule" },
      h("label", { class: "inline" }, t("Starts at"), this.startsAt),
      h("span", {}, t("Total"), " ", this.total, this.ends),
      fitForm);
  }

  schedule(data, input) {
    input.sending = true;
    showError(this.el, null);
    this.live.send(ACTIONS.WORKSHOP_SCHEDULE, data)
      .then(() => { input.sending = false; this.showStart(true); })
      .catch((error) => { input.sending = false; input.classList.add("unsaved"); showError(this.el, error); });
  }

  showStart(force) {
    const input = this.startsAt;
    const busyHere = input.sending || input.classList.contains("unsaved") || document.activeElement === input;
    if (!this.state || (busyHere && !force)) return;
    input.value = startsAtOf(this.state);
    input.classList.remove("unsaved");
  }

  // -- adding --

  addForm() {
    const type = h("select", { "aria-label": t("Type of the new stage"), "data-design": "add-type" },
      ...Object.entries(STAGE_LABELS).map(([v, l]) => h("option", { value: v }, l)));
    const title = h("input", { maxlength: 80, placeholder: t("Title"), "aria-label": t("Title of the new stage"), dir: "auto", "data-design": "add-title" });
    const minutes = h("input", { type: "number", min: 1, max: 600, value: 15, class: "minutes", "aria-label": t("Minutes"), "data-design": "add-minutes" });
    this.after = h("select", { "aria-label": t("Where the new stage goes"), "data-design": "add-after" });
    const add = h("button", { type: "submit", class: "small", "data-design": "add" }, t("Add stage"));
    const form = h("form", { class: "row programme-add" }, type, title, minutes, h("span", { class: "small muted" }, t("min")), this.after, add);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const where = this.after.value;
      const data = { type: type.value, title: title.value.trim() || STAGE_LABELS[type.value], minutes: Number(minutes.value) };
      if (where && where !== "start") data.after_stage_id = Number(where);
      const before = new Set(this.state.stages.map((s) => s.id));
      this.send(add, ACTIONS.STAGE_ADD, data).then((ack) => {
        if (!ack) return;
        title.value = "";
        const added = ack.stages.find((s) => !before.has(s.id));
        if (where === "start" && added) this.send(add, ACTIONS.STAGE_MOVE, { stage_id: added.id, position: 0 });
      });
    });
    return h("div", {}, h("h3", {}, t("Add a stage")), form);
  }

  drawAfter(stages) {
    const chosen = this.after.value;
    this.after.replaceChildren(
      h("option", { value: "" }, t("at the end")),
      h("option", { value: "start" }, t("at the start")),
      ...stages.map((s, i) =>
        h("option", { value: String(s.id) }, t("after {number}. {title}", { number: i + 1, title: tk(s.title) }))));
    if ([...this.after.options].some((o) => o.value === chosen)) this.after.value = chosen;
  }

  // -- drawing --

  update(state) {
    this.state = state;
    const startsAt = startsAtOf(state);
    const key = JSON.stringify([state.stages, state.current_stage_id, startsAt]);
    if (key === this.key) return;
    this.key = key;
    const total = state.stages.reduce((sum, s) => sum + s.minutes, 0);
    const times = clockTimes(state.stages, startsAt);
    const last = state.stages[state.stages.length - 1];
    const span = times && last ? `${times.get(state.stages[0].id)[0]}–${times.get(last.id)[1]}` : "";
    this.total.textContent = duration(total);
    this.ends.textContent = span ? ` · ${span}` : "";
    const n = state.stages.length;
    this.summary.textContent = [tn("{n} stage", "{n} stages", n), duration(total), span].filter(Boolean).join(" · ");
    this.showStart(false);
    this.drawAfter(state.stages);
    this.drawRows(state, times);
  }

  drawRows(state, times) {
    const ids = new Set(state.stages.map((s) => s.id));
    for (const [id, view] of this.rows) {
      if (!ids.has(id)) { view.li.remove(); this.rows.delete(id); }
    }
    state.stages.forEach((stage, i) => {
      let view = this.rows.get(stage.id);
      if (!view) {
        view = this.rowView(stage);
        this.rows.set(stage.id, view);
      }
      view.number.textContent = `${i + 1}.`;
      const time = times && times.get(stage.id);
      view.clock.textContent = time ? `${time[0]}–${time[1]}` : "";
      view.clock.hidden = !time;
      view.li.classList.toggle("current", stage.id === state.current_stage_id);
      // A field skipped here (being typed in) catches up when it is left.
      view.fields.forEach((f) => showField(f, stage));
    });
    this.order(state.stages.map((s) => this.rows.get(s.id).li));
    this.edges();
  }

  // The first stage cannot go up, nor the last down.
  edges() {
    const stages = this.state.stages;
    stages.forEach((s, i) => {
      const view = this.rows.get(s.id);
      view.up.disabled = i === 0;
      view.down.disabled = i === stages.length - 1;
    });
  }

  move(button, stageId, step) {
    const position = this.state.stages.findIndex((s) => s.id === stageId) + step;
    button.disabled = true;
    sendAction(this.live, this.el, ACTIONS.STAGE_MOVE, { stage_id: stageId, position }).then(() => this.edges());
  }

  // Puts the rows in order without moving the one being typed in (a moved field loses focus).
  order(wanted) {
    const now = [...this.list.children];
    if (now.length === wanted.length && now.every((li, i) => li === wanted[i])) return;
    const focused = wanted.find((li) => li.contains(document.activeElement));
    if (!focused) {
      this.list.replaceChildren(...wanted);
      return;
    }
    const at = wanted.indexOf(focused);
    wanted.slice(0, at).forEach((li) => this.list.insertBefore(li, focused));
    wanted.slice(at + 1).forEach((li) => this.list.append(li));
  }

  rowView(stage) {
    const { title, minutes, prompt, settings, fields } = this.fieldsOf(stage);
    const editor = h("div", { class: "design-editor stack", hidden: true },
      h("label", { for: prompt.id, class: "small" }, t("Prompt: the instruction shown under the title")), prompt, ...settings);
    const tools = this.toolsOf(stage.id, editor);
    const number = h("span", { class: "design-number" });
    const clock = h("span", { class: "design-clock", "data-design": "clock" });
    const li = h("li", { class: "design-stage", "data-design-stage": stage.id },
      h("div", { class: "design-row" },
        h("span", { class: "design-when" }, number, clock),
        title,
        h("span", { class: "design-type" }, STAGE_LABELS[stage.type] || stage.type),
        h("span", { class: "design-minutes" }, minutes, h("span", { class: "small muted" }, t("min"))),
        h("span", { class: "row design-tools" }, ...Object.values(tools))),
      editor);
    return { li, number, clock, up: tools.up, down: tools.down, fields };
  }

  // The stage's editable fields, each saved on its own when it changes.
  fieldsOf(stage) {
    const fields = [];
    const add = (el, show, params) => {
      const f = { el, show, params };
      fields.push(f);
      this.watch(f, stage.id);
      return el;
    };
    const title = h("input", { maxlength: 80, class: "design-title", "aria-label": t("Title"), "data-field": "title", dir: "auto" });
    add(title, (s) => { title.value = s.title; }, () => ({ title: title.value }));
    const minutes = h("input", { type: "number", min: 1, max: 600, class: "minutes", "aria-label": t("Minutes"), "data-field": "minutes" });
    add(minutes, (s) => { minutes.value = String(s.minutes); }, () => ({ minutes: Number(minutes.value) }));
    const prompt = h("textarea", { rows: 3, maxlength: 2000, "data-field": "prompt", dir: "auto", id: `design-prompt-${stage.id}` });
    add(prompt, (s) => { prompt.value = s.prompt || ""; }, () => ({ prompt: prompt.value }));
    // Every setting sends them all, so a quick second change does not undo the first.
    const controls = (SETTINGS[stage.type] || []).map(([key, label, kind]) => ({ key, label, kind, el: kind.make(label) }));
    const settings = controls.map(({ key, label, kind, el }) => {
      el.dataset.config = key;
      add(el, (s) => kind.show(el, (s.config || {})[key]), (s) => ({ config: configOf(s.config, controls) }));
      if (el.type === "checkbox") return h("label", { class: "inline" }, el, ` ${label}`);
      return h("label", { class: "setting" }, h("span", { class: "small" }, label), el,
        HINTS[key] ? h("span", { class: "small muted hint" }, HINTS[key]) : null);
    });
    return { title, minutes, prompt, settings, fields };
  }

  toolsOf(id, editor) {
    const button = (label, attrs) => h("button", Object.assign({ type: "button", class: "small secondary" }, attrs), label);
    const up = button("↑", { "aria-label": t("Move up"), title: t("Move up"), "data-design": "up" });
    const down = button("↓", { "aria-label": t("Move down"), title: t("Move down"), "data-design": "down" });
    up.addEventListener("click", () => this.move(up, id, -1));
    down.addEventListener("click", () => this.move(down, id, 1));
    const details = button(t("Details"), { "data-design": "details", "aria-expanded": "false" });
    details.addEventListener("click", () => {
      editor.hidden = !editor.hidden;
      details.textContent = editor.hidden ? t("Details") : t("Hide");
      details.setAttribute("aria-expanded", String(!editor.hidden));
    });
    const copy = button(t("Duplicate"), { "data-design": "duplicate" });
    copy.addEventListener("click", () => this.send(copy, ACTIONS.STAGE_DUPLICATE, { stage_id: id }));
    const remove = button(t("remove"), { class: "link danger small", "data-design": "remove" });
    remove.addEventListener("click", () => {
      const stage = this.stageOf(id);
      if (stage && window.confirm(t("Remove “{title}” from the programme?", { title: tk(stage.title) }))) {
        this.send(remove, ACTIONS.STAGE_REMOVE, { stage_id: id });
      }
    });
    return { up, down, details, copy, remove };
  }
}
