// The action plan on every screen: the console edits the rows field by field
// (each edit names the version it started from, so a conflict is shown, never
// lost), settles proposals and offers and sees the accountability gaps; the
// projector shows the rows and the gaps large; phones propose actions and offer
// their organisation as lead or partner.
import { ACTIONS } from "/protocol.js";
import { announce, busy, h, showError, typed, withNodes } from "./dom.js";
import { sendAction } from "./live.js";
import { orgKey } from "./plan_state.js";
import { FreezeControl } from "./signoff.js";
import { t, tn, tk } from "./i18n.js";

// The console table's cells, each with the fields stacked in it, when the kit
// has their column; the rest of the kit's columns are edited in the row's
// "More" editor.
const CELLS = [["objective"], ["activity"], ["lead", "partners"], ["sector", "action_field"], ["due", "status"], ["indicator"]];
const MAIN = CELLS.flat();
const DATES = ["start", "due", "review_date"];
const LONG = ["objective", "activity", "indicator", "risks"];
const MAX = {
  objective: 300, activity: 500, geography: 200, indicator: 300, baseline: 200, target: 200,
  verification: 300, risks: 500, budget_source: 200, lead: 120, budget_currency: 3,
};
const BUDGET = [["budget_amount", t("Budget amount")], ["budget_currency", t("Currency")], ["budget_source", t("Funding source")]];
const ORGS_LIST = "plan-organisations";

const byNumber = (a, b) => Number(a.ref.slice(1)) - Number(b.ref.slice(1));
const rowsOf = (state) => state.plan.actions.slice().sort(byNumber);

function choices(settings, name) {
  const pairs = {
    action_field: settings.action_fields.map((o) => [o.id, o.name]),
    sector: settings.sectors.map((s) => [s, s]),
    level: settings.levels.map((s) => [s, s]),
    status: settings.statuses.map((o) => [o.id, o.name]),
  };
  return pairs[name];
}

// A field's value as people read it (the name of a choice, partners joined).
function shown(settings, name, value) {
  if (Array.isArray(value)) return value.join("; ");
  const options = choices(settings, name);
  const found = options && options.find(([v]) => v === value);
  return found ? tk(found[1]) : value || "";
}

// What the fields are called (plan columns are the kit's texts), and a role.
const ROLES = { lead: t("lead"), partner: t("partner") };

// -- one editable field ---------------------------------------------------------------------

function fieldInput(settings, name, label) {
  const common = { "data-field": name, "aria-label": label };
  const options = choices(settings, name);
  if (options) {
    return h("select", common, h("option", { value: "" }, "—"), ...options.map(([v, l]) => h("option", { value: v }, tk(l))));
  }
  if (DATES.includes(name)) return h("input", { ...common, type: "date", min: "2000-01-01", max: "2100-12-31" });
  if (LONG.includes(name)) return h("textarea", { ...common, rows: 3, maxlength: MAX[name], dir: "auto" });
  if (name === "partners") return partnersInput(common, label);
  return h("input", {
    ...common, maxlength: MAX[name] || 300, list: name === "lead" ? ORGS_LIST : null,
    inputmode: name === "budget_amount" ? "decimal" : null, dir: "auto",
  });
}

// Supporting partners as chips, each one whole organisation name (commas and all):
// added with Enter or by picking one from the list, removed with its ×. The control
// sends "commit" when its list changed; the whole list is saved at once.
function partnersInput(common, label) {
  const chips = h("span", { class: "chips" });
  const entry = h("input", {
    list: ORGS_LIST, maxlength: MAX.lead || 120, dir: "auto", "data-partner-entry": "",
    placeholder: t("Add a partner"), "aria-label": t("Add a partner to {field}", { field: label }),
  });
  const control = h("div", { ...common, class: "partners", role: "group" }, chips, entry);
  control.partners = [];
  const commit = (partners) => {
    control.partners = partners;
    control.draw();
    control.dispatchEvent(new Event("commit"));
  };
  control.draw = () => chips.replaceChildren(...control.partners.map((name) => {
    const remove = h("button", { type: "button", class: "chip-remove", "aria-label": t("Remove {name}", { name }) }, "×");
    remove.addEventListener("mousedown", (ev) => ev.preventDefault()); // the entry keeps the focus
    remove.addEventListener("click", () => commit(control.partners.filter((p) => p !== name)));
    return h("span", { class: "chip", "data-partner": name }, h("span", { dir: "auto" }, name), remove);
  }));
  const add = () => {
    const name = entry.value.split(/\s+/).filter(Boolean).join(" ");
    entry.value = "";
    if (name && !control.partners.some((p) => orgKey(p) === orgKey(name))) commit([...control.partners, name]);
  };
  entry.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); add(); } });
  entry.addEventListener("change", add); // a name picked from the list, or typed and left
  return control;
}

function readValue(input) {
  return input.dataset.field === "partners" ? input.partners : input.value;
}

function writeValue(input, value) {
  if (input.dataset.field === "partners") {
    input.partners = Array.isArray(value) ? value : [];
    input.draw();
  } else {
    input.value = value == null ? "" : String(value);
  }
  input.stored = JSON.stringify(readValue(input));
}

// "saving", "saved", "conflict" or "refused", shown beside the field (CSS) and said.
function saveState(input, state) {
  input.dataset.save = state;
  input.title = { saving: t("Saving…"), saved: t("Saved"), conflict: t("Changed by someone else: see the message"), refused: t("Not saved: see the message") }[state];
}

// Shows the stored value and its version, unless someone is typing in it, their
// change is on the way or was refused (``force`` after the answer to a change).
function showField(input, row, force) {
  const busyHere = input.sending || input.classList.contains("unsaved") || input.contains(document.activeElement);
  if (busyHere && !force) return;
  const name = input.dataset.field;
  writeValue(input, row.fields[name]);
  input.version = row.versions[name] || 0;
  input.classList.remove("unsaved");
}

// Sends one field's change with the version it was based on. On a conflict the
// message names the value now stored and the field shows it; nothing is overwritten.
function saveField(live, errorRoot, input, rowId) {
  const name = input.dataset.field;
  input.sending = true;
  saveState(input, "saving");
  showError(errorRoot, null);
  return live.send(ACTIONS.PLAN_EDIT, { action: rowId, changes: { [name]: readValue(input) }, versions: { [name]: input.version || 0 } })
    .then((ack) => { input.sending = false; showField(input, ack.action, true); saveState(input, "saved"); })
    .catch((error) => {
      input.sending = false;
      showError(errorRoot, error);
      const current = error.details && error.details.current;
      if (error.code === "conflict" && current) {
        writeValue(input, current.value);
        input.version = current.version;
        saveState(input, "conflict");
      } else {
        input.classList.add("unsaved");
        saveState(input, "refused");
      }
    });
}

// A field is saved when it is committed, never per key press: a text when it is left
// or Enter is pressed ("change"), the partners when the list changed, a date when it
// is left or Enter is pressed (a date field fires "change" at every digit typed into
// its year, which would store 0002-06-30 on the way to 2027).
function watchField(live, errorRoot, input, rowId, latest) {
  const save = () => {
    if (JSON.stringify(readValue(input)) !== input.stored) saveField(live, errorRoot, input, rowId);
  };
  const isDate = input.type === "date";
  if (input.dataset.field === "partners") input.addEventListener("commit", save);
  else if (!isDate) input.addEventListener("change", save);
  if (isDate) input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") save(); });
  // Leaving a field saves a date; leaving one unchanged shows what arrived meanwhile.
  input.addEventListener("focusout", (ev) => {
    if (input.contains(ev.relatedTarget)) return;
    if (isDate) save();
    const row = latest();
    if (row && !input.sending) showField(input, row);
  });
}

// -- accountability (console and projector) ---------------------------------------------------

const GAPS = [
  ["no_lead", t("Actions with no lead")],
  ["no_indicator", t("Actions with no indicator")],
  ["no_due_date", t("Actions with no due date")],
  ["organisations_leading_nothing", t("Organisations in the room that lead nothing")],
  ["sectors_without_action", t("Sectors with no action")],
];

function accountabilityView(acc, large) {
  if (!acc) return h("p", { class: "muted" }, t("Accountability appears once the plan has actions."));
  const gaps = GAPS.map(([key, label]) => {
    const found = acc.gaps[key] || [];
    // Refs, organisations as typed, or sectors (the kit's texts).
    const items = key === "sectors_without_action" ? found.map((s) => tk(s)) : found;
    return h("li", { class: items.length ? "gap" : "gap-none", "data-gap": key },
      h("span", { class: "gap-count" }, items.length ? String(items.length) : "✓"),
      h("span", {}, h("span", { class: "gap-label" }, label), items.length ? h("span", { class: "gap-items", dir: "auto" }, items.join("; ")) : null));
  });
  const pct = (share) => `${Math.round(share * 100)}%`;
  const owners = acc.ownership.map((o) => h("tr", { "data-owner": o.organisation },
    h("td", { dir: "auto" }, o.organisation), h("td", {}, o.lead.join(", ") || "—"),
    h("td", {}, o.support.join(", ") || "—"), h("td", { class: "num" }, pct(o.lead_share))));
  return h("div", { class: `accountability${large ? " large" : ""}`, "data-accountability": true },
    h(large ? "h2" : "h3", {}, tn("Accountability · {n} action", "Accountability · {n} actions", acc.actions)),
    h("ul", { class: "gaps" }, ...gaps),
    owners.length ? h("table", { class: "ownership" },
      h("thead", {}, h("tr", {}, ...[t("Organisation"), t("Leads"), t("Supports"), t("Share of leads")].map((label) => h("th", {}, label)))),
      h("tbody", {}, ...owners)) : null);
}

// -- console --------------------------------------------------------------------------------------

// Closed polls and agenda items an action can be made from.
function sources(state) {
  const polls = (state.polls || []).filter((e) => e.rounds.some((r) => r.closed))
    .map((e) => ({ kind: "poll", id: e.poll.id, title: e.poll.title }));
  const items = Object.values(state.agendas || {}).flatMap((a) => a.items.slice().sort((x, y) => x.position - y.position))
    .map((i) => ({ kind: "agenda", id: i.id, title: i.title }));
  return { polls, items };
}

// The workshop's organisations (a name typed that none has becomes one when saved),
// then the stakeholders the room accepted.
function organisationNames(state) {
  const names = new Map();
  for (const o of state.organisations || []) names.set(orgKey(o.name), o.name);
  for (const p of state.participants || []) if (!names.has(orgKey(p.organisation))) names.set(orgKey(p.organisation), p.organisation);
  for (const s of (state.stakeholders && state.stakeholders.items) || []) {
    if (s.status !== "proposed" && !names.has(orgKey(s.name))) names.set(orgKey(s.name), s.name);
  }
  return [...names.values()].sort((a, b) => a.localeCompare(b));
}

// Refusals show in the plan's own error line, next to the table, not in the stages panel.
export class ConsolePlan {
  constructor(_root, live) { this.live = live; this.rows = new Map(); this.keys = {}; }

  mount(body, state) {
    this.settings = state.plan.settings;
    const ids = this.settings.columns.map((c) => c.id);
    this.cells = CELLS.map((cell) => cell.filter((f) => ids.includes(f))).filter((cell) => cell.length);
    this.extra = this.settings.columns.filter((c) => !MAIN.includes(c.id))
      .flatMap((c) => (c.id === "budget" ? BUDGET : [[c.id, tk(c.label)]]));
    this.labels = Object.fromEntries(this.settings.columns.map((c) => [c.id, tk(c.label)]));
    this.el = h("div", { class: "plan-console" });
    this.freeze = new FreezeControl(this.el, this.live);
    this.datalist = h("datalist", { id: ORGS_LIST });
    this.offers = h("div", { class: "plan-offers" });
    this.fromSources = h("div", { class: "stack small" });
    this.tbody = h("tbody");
    this.accountability = h("div");
    this.el.append(
      this.freeze.el,
      h("p", { class: "error", role: "alert", "data-bind": "error", hidden: true }),
      this.addForm(),
      h("details", { class: "plan-sources" }, h("summary", {}, t("Add from a decision or an agenda item")), this.fromSources),
      this.offers, this.datalist,
      h("div", { class: "plan-table-wrap" }, h("table", { class: "plan-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "col-ref" }, t("Ref")),
          ...this.cells.map((cell) => h("th", {}, ...cell.map((f) => h("span", { class: "th-line" }, this.labels[f])))),
          h("th", { class: "col-tools" }, h("span", { class: "sr" }, t("Tools"))))),
        this.tbody)),
      this.accountability);
    body.replaceChildren(this.el);
    this.update(state);
  }

  send(button, name, data) { return busy(button, sendAction(this.live, this.el, name, data)); }

  addForm() {
    const objective = h("input", { maxlength: 300, placeholder: t("Objective"), "aria-label": t("Objective"), dir: "auto", "data-control": "plan-objective" });
    const activity = h("input", { maxlength: 500, placeholder: t("Activity: what will be done"), "aria-label": t("Activity"), dir: "auto", "data-control": "plan-activity" });
    const add = h("button", { type: "submit", class: "small", "data-action": "plan-add" }, t("Add action"));
    const form = h("form", { class: "row plan-add" }, objective, activity, add);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.send(add, ACTIONS.PLAN_ADD, { fields: { objective: objective.value, activity: activity.value } })
        .then((ack) => { if (ack) { objective.value = ""; activity.value = ""; } });
    });
    return form;
  }

  update(state) {
    this.freeze.update(state);
    this.changed("orgs", organisationNames(state), (names) => this.datalist.replaceChildren(...names.map((n) => h("option", { value: n }))));
    this.changed("sources", [sources(state), state.plan.actions.map((r) => r.source)], () => this.drawSources(state));
    this.changed("offers", state.plan.actions.map((r) => [r.id, r.offers]), () => this.drawOffers(state));
    this.changed("accountability", state.plan.accountability, (acc) => this.accountability.replaceChildren(accountabilityView(acc)));
    this.drawRows(state);
  }

  // Runs draw(value) only when value differs from the last one drawn under that name.
  changed(name, value, draw) {
    const key = JSON.stringify(value);
    if (this.keys[name] === key) return;
    this.keys[name] = key;
    draw(value);
  }

  drawSources(state) {
    const { polls, items } = sources(state);
    const used = (s) => state.plan.actions.find((r) => r.source && r.source.kind === s.kind && r.source.id === s.id);
    const button = (s) => {
      const row = used(s);
      const b = h("button", { type: "button", class: "small secondary", dir: "auto", "data-add-from": `${s.kind}:${s.id}` },
        s.title, row ? h("span", { class: "muted" }, " ", t("(in the plan as {ref})", { ref: row.ref })) : null);
      b.addEventListener("click", () => this.send(b, ACTIONS.PLAN_ADD_FROM, { kind: s.kind, source_id: s.id }));
      return b;
    };
    this.fromSources.replaceChildren(
      h("strong", {}, t("Decisions")), polls.length ? h("div", { class: "row" }, ...polls.map(button)) : h("span", { class: "muted" }, t("No poll has closed yet.")),
      h("strong", {}, t("Agenda items")), items.length ? h("div", { class: "row" }, ...items.map(button)) : h("span", { class: "muted" }, t("The agenda is empty.")));
  }

  drawOffers(state) {
    const waiting = rowsOf(state).flatMap((row) => row.offers.map((o) => ({ row, offer: o })));
    this.offers.replaceChildren(...(waiting.length ? [h("h3", {}, t("Offers to settle")), h("ul", { class: "list" }, ...waiting.map(({ row, offer }) => {
      const settle = (accept) => {
        const b = h("button", { type: "button", class: `small${accept ? "" : " secondary"}`, "data-settle": `${row.id}:${offer.organisation}:${accept}` }, accept ? t("Accept") : t("Decline"));
        b.addEventListener("click", () => this.send(b, ACTIONS.PLAN_SETTLE_OFFER, { action: row.id, organisation: offer.organisation, accept }));
        return b;
      };
      return h("li", { class: "row spread", "data-offer": row.id },
        h("span", {}, ...withNodes(offer.role === "lead" ? t("{organisation} offers to lead {ref}:", { ref: row.ref }) : t("{organisation} offers to support {ref}:", { ref: row.ref }),
          { organisation: h("strong", { dir: "auto" }, offer.organisation) }), " ",
          h("span", { class: "muted", dir: "auto" }, row.fields.activity || row.fields.objective)),
        h("span", { class: "row" }, settle(true), settle(false)));
    }))] : []));
  }

  drawRows(state) {
    const rows = rowsOf(state);
    const ids = new Set(rows.map((r) => r.id));
    for (const [id, view] of this.rows) {
      if (!ids.has(id)) { view.tr.remove(); view.more.remove(); this.rows.delete(id); }
    }
    if (!rows.length && !this.tbody.children.length) {
      this.tbody.append(h("tr", { class: "plan-empty" }, h("td", { colspan: this.cells.length + 2, class: "muted" }, t("No actions yet: add one above, or from a decision."))));
    }
    if (rows.length) this.tbody.querySelectorAll(".plan-empty").forEach((tr) => tr.remove());
    for (const row of rows) {
      let view = this.rows.get(row.id);
      if (!view) {
        view = this.rowView(row);
        this.rows.set(row.id, view);
        this.tbody.append(view.tr, view.more);
      }
      const key = JSON.stringify(row);
      if (view.key === key) continue;
      view.key = key;
      view.row = row;
      // A field skipped here (being typed in) catches up when it is left.
      view.inputs.forEach((input) => showField(input, row));
      view.tr.classList.toggle("proposal", !row.accepted);
      view.ref.replaceChildren(...[row.ref, row.accepted ? null : h("span", { class: "tag" }, t("proposed")),
        row.source ? h("span", { class: "tag" }, row.source.kind === "poll" ? t("decision") : t("agenda")) : null,
        row.offers.length ? h("span", { class: "tag offer" }, tn("{n} offer", "{n} offers", row.offers.length)) : null].filter(Boolean));
      view.accept.hidden = row.accepted;
    }
  }

  rowView(row) {
    const latest = () => (this.rows.get(row.id) || {}).row;
    const inputs = [];
    const input = (name, label) => {
      const el = fieldInput(this.settings, name, t("{field} of {ref}", { field: label, ref: row.ref }));
      watchField(this.live, this.el, el, row.id, latest);
      inputs.push(el);
      return el;
    };
    const ref = h("td", { class: "col-ref" });
    const accept = h("button", { type: "button", class: "small", "data-accept": row.id }, t("Accept"));
    accept.addEventListener("click", () => this.send(accept, ACTIONS.PLAN_ACCEPT, { action: row.id }));
    const remove = h("button", { type: "button", class: "link danger small", "data-remove": row.id }, t("remove"));
    remove.addEventListener("click", () => {
      if (window.confirm(t("Remove {ref} from the plan?", { ref: row.ref }))) this.send(remove, ACTIONS.PLAN_REMOVE, { action: row.id });
    });
    const more = h("tr", { class: "plan-more", hidden: true },
      h("td", { colspan: this.cells.length + 2 }, h("div", { class: "plan-more-grid" },
        ...this.extra.map(([name, label]) => h("label", { class: "small" }, label, input(name, label))))));
    const toggle = h("button", { type: "button", class: "small secondary", "data-more": row.id, "aria-expanded": "false" }, t("More"));
    toggle.addEventListener("click", () => {
      more.hidden = !more.hidden;
      toggle.textContent = more.hidden ? t("More") : t("Less");
      toggle.setAttribute("aria-expanded", String(!more.hidden));
    });
    const tr = h("tr", { "data-plan-row": row.id }, ref,
      ...this.cells.map((cell) => h("td", {}, h("div", { class: "cell-stack" }, ...cell.map((name) => input(name, this.labels[name]))))),
      h("td", { class: "col-tools" }, h("div", { class: "row" }, accept, this.extra.length ? toggle : null, remove)));
    return { tr, more, ref, accept, inputs, row };
  }
}

// -- projector ---------------------------------------------------------------------------------

export class ProjectorPlan {
  mount(body, state) { this.body = body; this.key = null; this.update(state); }

  update(state) {
    const key = JSON.stringify([state.plan.actions, state.plan.accountability]);
    if (key === this.key) return;
    this.key = key;
    const settings = state.plan.settings;
    const rows = rowsOf(state);
    const cell = (row, name) => h("td", { class: `col-${name}${row.fields[name] ? "" : " missing"}`, dir: "auto" }, shown(settings, name, row.fields[name]) || "—");
    this.body.replaceChildren(h("div", { class: "plan-projector" },
      h("div", { class: "plan-rows" }, rows.length ? h("table", { class: "plan-compact" },
        h("thead", {}, h("tr", {}, h("th", {}, h("span", { class: "sr" }, t("Ref"))), ...[t("Activity"), t("Lead"), t("Due"), t("Indicator")].map((label) => h("th", {}, label)))),
        h("tbody", {}, ...rows.map((row) => h("tr", { class: row.accepted ? "" : "proposal", "data-plan-row": row.id },
          h("td", { class: "ref" }, row.ref),
          h("td", { "data-activity": row.id, dir: "auto" }, row.fields.activity || row.fields.objective, row.accepted ? null : h("span", { class: "tag" }, t("proposed"))),
          cell(row, "lead"), cell(row, "due"), cell(row, "indicator")))))
        : h("p", { class: "muted" }, t("The actions will appear here."))),
      accountabilityView(state.plan.accountability, true)));
  }
}

// -- phone ------------------------------------------------------------------------------------------

export class PhonePlan {
  constructor(root, live) { this.root = root; this.live = live; this.key = null; this.editing = null; }

  mount(body, state) {
    const objective = h("input", { id: "plan-objective", maxlength: 300, dir: "auto", placeholder: t("The objective it serves (optional)") });
    const activity = h("textarea", { id: "plan-activity", rows: 2, maxlength: 500, dir: "auto", placeholder: t("What will be done") });
    const submit = h("button", { type: "submit", class: "secondary" }, t("Propose"));
    const form = h("form", { class: "stack", "data-form": "plan-propose" },
      h("label", { for: "plan-activity" }, t("Propose an action")), activity,
      h("label", { for: "plan-objective" }, t("Objective")), objective, submit);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      showError(this.root, null);
      busy(submit, this.live.send(ACTIONS.PLAN_ADD, { fields: { activity: activity.value, objective: objective.value } }))
        .then(() => { activity.value = ""; objective.value = ""; announce(t("Your proposal is sent to the facilitator.")); })
        .catch((error) => showError(this.root, error));
    });
    this.list = h("div", { class: "plan-cards" });
    body.replaceChildren(form, this.list);
    this.update(state);
  }

  update(state) {
    // Never redraw under an open editor; it redraws when saved or cancelled.
    if (this.editing) return;
    const key = JSON.stringify([state.plan.actions, state.me]);
    if (key === this.key) return;
    this.key = key;
    const rows = rowsOf(state);
    const plan = rows.filter((r) => r.accepted);
    const proposals = rows.filter((r) => !r.accepted);
    this.list.replaceChildren(
      h("h2", {}, t("The plan")),
      plan.length ? h("ol", { class: "plan-list" }, ...plan.map((r) => this.card(state, r))) : h("p", { class: "notice" }, t("No actions in the plan yet.")),
      ...(proposals.length ? [h("h2", {}, t("Proposed by the room")), h("ol", { class: "plan-list" }, ...proposals.map((r) => this.card(state, r)))] : []));
  }

  redraw() { this.editing = null; this.key = null; this.update(this.live.state); }

  card(state, row) {
    const settings = state.plan.settings;
    const f = row.fields;
    const fact = (label, name) => (f[name] && f[name].length
      ? h("p", { class: "small" }, h("span", { class: "muted" }, label, " "), typed(shown(settings, name, f[name]))) : null);
    const mine = row.proposed_by === state.me.id;
    return h("li", { class: `plan-card${row.accepted ? "" : " proposal"}`, "data-plan-row": row.id },
      h("p", { class: "plan-card-title" }, h("span", { class: "ref" }, row.ref), " ", h("strong", { dir: "auto" }, f.activity || f.objective)),
      f.activity && f.objective ? h("p", { class: "small muted", dir: "auto" }, f.objective) : null,
      fact(t("Lead:"), "lead"), fact(t("Partners:"), "partners"), fact(t("Due:"), "due"), fact(t("Indicator:"), "indicator"),
      this.offersOf(state, row),
      !row.accepted && mine ? this.editButton(row) : null);
  }

  // Pending offers, and this phone's own: "lead" or "partner" for my organisation.
  offersOf(state, row) {
    const me = orgKey(state.me.organisation);
    const leads = orgKey(row.fields.lead) === me;
    const supports = row.fields.partners.some((p) => orgKey(p) === me);
    const pending = row.offers.find((o) => orgKey(o.organisation) === me);
    const others = row.offers.filter((o) => o !== pending);
    const offer = (role, label, ariaLabel) => {
      const b = h("button", { type: "button", class: "secondary small", "data-offer": row.id, "data-role": role, "aria-label": ariaLabel }, label);
      b.addEventListener("click", () => {
        showError(this.root, null);
        busy(b, this.live.send(ACTIONS.PLAN_OFFER, { action: row.id, role }))
          .then(() => announce(t("Your offer for {ref} is waiting for the facilitator.", { ref: row.ref })))
          .catch((error) => showError(this.root, error));
      });
      return b;
    };
    const offered = (role) => pending && pending.role === role;
    const buttons = [
      leads || offered("lead") ? null
        : offer("lead", t("Lead"), t("Offer {organisation} as lead of {ref}", { organisation: state.me.organisation, ref: row.ref })),
      leads || supports || offered("partner") ? null
        : offer("partner", t("Partner"), t("Offer {organisation} as partner of {ref}", { organisation: state.me.organisation, ref: row.ref })),
    ].filter(Boolean);
    return h("div", { class: "plan-offer" },
      others.length ? h("p", { class: "small muted" }, t("Offers waiting:"), " ",
        typed(others.map((o) => `${o.organisation} (${ROLES[o.role] || o.role})`).join(", "))) : null,
      pending ? h("p", { class: "small", "data-my-offer": row.id }, pending.role === "lead"
        ? t("Your offer to lead this is waiting for the facilitator.") : t("Your offer to support this is waiting for the facilitator.")) : null,
      buttons.length ? h("p", { class: "small" }, t("Offer my organisation as:")) : null,
      buttons.length ? h("div", { class: "row offer-buttons" }, ...buttons) : null);
  }

  editButton(row) {
    const b = h("button", { type: "button", class: "link small", "data-edit": row.id }, t("Edit my proposal"));
    b.addEventListener("click", () => {
      this.editing = row.id;
      b.closest("li").replaceChildren(this.editor(row));
    });
    return b;
  }

  // Own proposal: activity and objective, each sent with the version it started from.
  editor(row) {
    const fields = ["activity", "objective"].map((name) => {
      const input = name === "activity" ? h("textarea", { rows: 2, maxlength: 500, dir: "auto", "data-field": name, id: `edit-${name}` })
        : h("input", { maxlength: 300, dir: "auto", "data-field": name, id: `edit-${name}` });
      showField(input, row, true);
      return [name, input];
    });
    const save = h("button", { type: "button", "data-action": "save-edit" }, t("Save"));
    save.addEventListener("click", () => {
      const changed = fields.filter(([name, input]) => input.value.trim() !== row.fields[name]);
      if (!changed.length) { this.redraw(); return; }
      showError(this.root, null);
      const edit = this.live.send(ACTIONS.PLAN_EDIT, {
        action: row.id,
        changes: Object.fromEntries(changed.map(([name, input]) => [name, input.value])),
        versions: Object.fromEntries(changed.map(([name, input]) => [name, input.version])),
      });
      busy(save, edit).then(() => this.redraw()).catch((error) => {
        showError(this.root, error);
        const current = error.details && error.details.current;
        const conflicted = current && fields.find(([name]) => name === error.details.field);
        if (error.code === "conflict" && conflicted) {
          writeValue(conflicted[1], current.value);
          conflicted[1].version = current.version;
        }
      });
    });
    const cancel = h("button", { type: "button", class: "secondary" }, t("Cancel"));
    cancel.addEventListener("click", () => this.redraw());
    return h("div", { class: "stack", "data-form": "plan-edit" },
      h("label", { for: "edit-activity" }, t("Your proposal {ref}", { ref: row.ref })), fields[0][1],
      h("label", { for: "edit-objective" }, t("Objective")), fields[1][1],
      h("div", { class: "row" }, save, cancel));
  }
}
