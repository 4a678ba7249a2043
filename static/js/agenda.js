// The agenda on every screen: proposals and dots on phones; order, time boxes,
// the current item and its timer on the console; the projector shows it all large.
import { ACTIONS } from "/protocol.js";
import { announce, h, showError, typed, withNodes } from "./dom.js";
import { sendAction } from "./live.js";
import { t, tn } from "./i18n.js";

function agendaOf(state, stage) { return (state.agendas || {})[String(stage.id)]; }

// Board notes that could become agenda topics (readable, not promoted yet).
function promotable(state, agenda, onlyMine) {
  const used = new Set(agenda.items.map((i) => i.note_id).filter(Boolean));
  return Object.values(state.boards || {}).flatMap((b) => b.notes)
    .filter((n) => n.text !== undefined && !used.has(n.id) && (!onlyMine || n.mine));
}

function ordered(agenda) { return agenda.items.slice().sort((a, b) => a.position - b.position || a.id - b.id); }

// Seconds left on the current item's timer, from the shared timer state; the
// offset corrects this device's clock by the server's.
export function remaining(agenda) {
  const timer = agenda.settings.timer;
  if (!timer) return null;
  const offset = agenda.server_time && agenda.received_at ? agenda.server_time - agenda.received_at : 0;
  const now = Date.now() / 1000 + offset;
  const running = timer.started_at ? now - timer.started_at : 0;
  return Math.round(timer.duration - timer.elapsed - running);
}

function clock(seconds) {
  const sign = seconds < 0 ? "−" : "";
  const s = Math.abs(seconds);
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function timerView(agenda, cls) {
  const left = remaining(agenda);
  if (left === null) return null;
  const el = h("span", { class: `timer ${cls}${left < 0 ? " over" : ""}`, "data-timer": true }, clock(left));
  return el;
}

function itemsList(agenda, extra) {
  const totals = agenda.totals || {};
  const current = agenda.settings.current_item_id;
  return h("ol", { class: "agenda-list" }, ...ordered(agenda).map((item) => h("li", {
    class: item.id === current ? "current" : "", "data-agenda-item": item.id, "aria-current": item.id === current ? "true" : null,
  }, h("span", { class: "agenda-title", dir: "auto" }, item.title), item.id === current ? h("span", { class: "tag" }, t("now")) : null,
  h("span", { class: "muted small" }, " ", t("{minutes} min", { minutes: item.minutes })),
  // The number shows (and is read) before the word: "● 3", then "dots" for screen readers.
  totals[String(item.id)] !== undefined ? h("span", { class: "dots-total" }, ` ● ${totals[String(item.id)]}`,
    h("span", { class: "sr" }, " ", tn("dot", "dots", totals[String(item.id)]))) : null,
  extra ? extra(item) : null)));
}

// Announces the dots when they are revealed (a screen that opens after the reveal
// shows them without saying so).
function revealAnnouncer() {
  let revealed;
  return (agenda) => {
    const now = Boolean(agenda.settings.revealed);
    if (revealed === false && now) {
      const top = ordered(agenda).map((i) => [i, (agenda.totals || {})[String(i.id)] || 0]).sort((a, b) => b[1] - a[1])[0];
      announce(top ? t("Dots revealed. Most dots: {title}, {n}.", { title: top[0].title, n: top[1] }) : t("Dots revealed."));
    }
    revealed = now;
  };
}

// Every second, redraw the timers from the shared state (no server traffic).
setInterval(() => {
  for (const el of document.querySelectorAll("[data-timer]")) {
    const host = el.closest("[data-agenda-host]");
    if (host && host.agenda) {
      const left = remaining(host.agenda);
      if (left !== null) { el.textContent = clock(left); el.classList.toggle("over", left < 0); }
    }
  }
}, 1000);

export class ProjectorAgenda {
  mount(body, state, stage) { this.body = body; this.said = revealAnnouncer(); this.update(state, stage); }

  update(state, stage) {
    const agenda = agendaOf(state, stage);
    if (!agenda) return;
    this.said(agenda);
    const current = agenda.items.find((i) => i.id === agenda.settings.current_item_id);
    const host = h("div", { class: "agenda-view", "data-agenda-host": true },
      current ? h("div", { class: "current-item" }, typed(current.title), timerView(agenda, "big")) : null,
      agenda.settings.revealed ? null : h("p", { class: "muted" }, t("{voters} have placed their dots", { voters: agenda.voters })),
      itemsList(agenda));
    host.agenda = agenda;
    this.body.replaceChildren(host);
  }
}

export class PhoneAgenda {
  constructor(root, live) { this.root = root; this.live = live; this.key = null; this.said = revealAnnouncer(); }

  mount(body, state, stage) {
    this.body = body;
    this.stage = stage;
    const title = h("input", { id: "agenda-title", maxlength: 200, placeholder: t("A topic for the agenda"), dir: "auto" });
    const form = h("form", { class: "stack", "data-form": "agenda" }, h("label", { for: "agenda-title" }, t("Propose a topic")), title,
      h("button", { type: "submit", class: "secondary" }, t("Propose")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      showError(this.root, null);
      this.live.send(ACTIONS.AGENDA_PROPOSE, { title: title.value }).then(() => { title.value = ""; })
        .catch((error) => showError(this.root, error));
    });
    this.list = h("div", { "data-agenda-host": true });
    this.fromNotes = h("div", { class: "from-notes" });
    body.replaceChildren(form, this.fromNotes, this.list);
    this.update(state, stage);
  }

  drawNotes(state, agenda) {
    const notes = promotable(state, agenda, true);
    this.fromNotes.replaceChildren(...(notes.length ? [h("p", { class: "small muted" }, t("Or propose one of your notes:")),
      ...notes.map((n) => h("button", { type: "button", class: "secondary small", "data-promote": n.id, dir: "auto",
        onclick: () => this.live.send(ACTIONS.AGENDA_PROMOTE, { note_id: n.id }).catch((error) => showError(this.root, error)) },
      n.text.slice(0, 60)))] : []));
  }

  update(state, stage) {
    const agenda = agendaOf(state, stage);
    if (!agenda) return;
    this.said(agenda);
    this.list.agenda = agenda;
    this.drawNotes(state, agenda);
    const key = JSON.stringify([agenda.items, agenda.settings, agenda.totals, agenda.mine]);
    if (key === this.key) return;
    this.key = key;
    const rules = agenda.settings;
    // Dots placed but not saved survive a redraw (someone proposing a topic meanwhile).
    const mine = Object.assign({}, this.unsaved || agenda.mine || {});
    const used = () => Object.values(mine).reduce((a, b) => a + b, 0);
    const left = h("p", { class: "small muted", "data-bind": "dots-left", role: "status" });
    const placed = (dots) => JSON.stringify(Object.entries(dots).filter(([, v]) => v).sort());
    // Derived from the state, so a redraw never loses the "saved" message.
    const showLeft = () => {
      const counts = { n: rules.dots - used(), total: rules.dots };
      left.textContent = used() && placed(mine) === placed(agenda.mine || {})
        ? t("Saved. You can change them until the dots are revealed.")
        : rules.stacking ? t("{n} of {total} dots left", counts) : t("{n} of {total} dots left (one per topic)", counts);
    };
    showLeft();
    const extra = rules.revealed ? null : (item) => {
      const count = h("strong", { "data-my-dots": item.id }, String(mine[String(item.id)] || 0));
      const change = (d) => {
        const now = mine[String(item.id)] || 0;
        if (d > 0 && (used() >= rules.dots || (!rules.stacking && now >= 1))) return;
        mine[String(item.id)] = Math.max(0, now + d);
        this.unsaved = mine;
        count.textContent = String(mine[String(item.id)]);
        showLeft();
      };
      return h("span", { class: "row dot-controls", role: "group", "aria-label": t("Your dots on {title}", { title: item.title }) },
        h("button", { type: "button", class: "secondary small", "aria-label": t("Take a dot off {title}", { title: item.title }),
          onclick: () => change(-1) }, "−"), count,
        h("button", { type: "button", class: "secondary small", "data-add-dot": item.id,
          "aria-label": t("Add a dot to {title}", { title: item.title }), onclick: () => change(1) }, "+"));
    };
    const save = h("button", { type: "button", "data-action": "save-dots", hidden: rules.revealed }, t("Save my dots"));
    save.addEventListener("click", () => {
      showError(this.root, null);
      this.live.send(ACTIONS.AGENDA_DOT, { dots: mine })
        .then(() => {
          // Not on topics removed meanwhile (a retry's answer can come after the event).
          const here = new Set(agenda.items.map((i) => String(i.id)));
          agenda.mine = Object.fromEntries(Object.entries(mine).filter(([id, v]) => v && here.has(id)));
          this.unsaved = null;
          showLeft();
          announce(t("Your dots are saved."));
        })
        .catch((error) => showError(this.root, error));
    });
    const current = agenda.items.find((i) => i.id === rules.current_item_id);
    this.list.replaceChildren(...[ // replaceChildren would write a null out as "null"
      current ? h("p", { class: "notice" }, withNodes(t("Now: {title}"), { title: h("strong", { dir: "auto" }, current.title) }),
        " ", timerView(agenda, "small")) : null,
      rules.revealed ? null : left, itemsList(agenda, extra), save].filter(Boolean));
  }
}

export class ConsoleAgenda {
  constructor(root, live) { this.root = root; this.live = live; }

  mount(body, state, stage) {
    this.stage = stage;
    const title = h("input", { maxlength: 200, placeholder: t("Add a topic"), "aria-label": t("New topic"),
      "data-control": "agenda-title", dir: "auto" });
    const add = h("button", { type: "button", class: "small" }, t("Add"));
    add.addEventListener("click", () => title.value.trim() && sendAction(this.live, this.root, ACTIONS.AGENDA_PROPOSE, { title: title.value }).then(() => { title.value = ""; }));
    this.host = h("div", { "data-agenda-host": true });
    this.promote = h("select", { class: "small", "data-control": "promote-note", "aria-label": t("Promote a board note") });
    this.promote.addEventListener("change", () => this.promote.value &&
      sendAction(this.live, this.root, ACTIONS.AGENDA_PROMOTE, { note_id: Number(this.promote.value) }));
    body.replaceChildren(
      h("div", { class: "row" }, title, add, this.promote,
        h("button", { type: "button", class: "small", "data-action": "reveal-dots", onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_REVEAL, {}) }, t("Reveal dots")),
        h("button", { type: "button", class: "small secondary", "data-action": "order-by-dots", onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_ORDER_BY_DOTS, {}) }, t("Order by dots"))),
      h("div", { class: "row" },
        h("button", { type: "button", class: "small", "data-action": "timer-start", onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_TIMER, { command: "start" }) }, t("▶ Start")),
        h("button", { type: "button", class: "small secondary", onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_TIMER, { command: "pause" }) }, t("⏸ Pause")),
        h("button", { type: "button", class: "small secondary", onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_TIMER, { command: "extend", seconds: 300 }) }, t("+5 min"))),
      this.host);
    this.update(state, stage);
  }

  update(state, stage) {
    const agenda = agendaOf(state, stage);
    if (!agenda) return;
    this.host.agenda = agenda;
    this.promote.replaceChildren(h("option", { value: "" }, t("Promote a board note…")),
      ...promotable(state, agenda, false).map((n) => h("option", { value: n.id, dir: "auto" }, n.text.slice(0, 80))));
    const order = ordered(agenda).map((i) => i.id);
    const move = (id, d) => {
      const i = order.indexOf(id);
      const j = i + d;
      if (j < 0 || j >= order.length) return;
      [order[i], order[j]] = [order[j], order[i]];
      sendAction(this.live, this.root, ACTIONS.AGENDA_ORDER, { item_ids: order });
    };
    const others = (item) => ordered(agenda).filter((o) => o.id !== item.id);
    const counts = { voters: agenda.voters, dots: agenda.settings.dots };
    this.host.replaceChildren(
      h("p", { class: "small muted" }, agenda.settings.revealed
        ? t("{voters} have placed dots · {dots} each · revealed", counts)
        : t("{voters} have placed dots · {dots} each · hidden until revealed", counts)),
      timerView(agenda, "small"),
      itemsList(agenda, (item) => {
        const minutes = h("input", { type: "number", min: 1, max: 600, value: item.minutes, class: "minutes",
          "aria-label": t("Minutes for {title}", { title: item.title }) });
        minutes.addEventListener("change", () => sendAction(this.live, this.root, ACTIONS.AGENDA_EDIT, { item_id: item.id, minutes: Number(minutes.value) }));
        const merge = h("select", { class: "small", "aria-label": t("Merge {title} into", { title: item.title }) },
          h("option", { value: "" }, t("Merge into…")), ...others(item).map((o) => h("option", { value: o.id, dir: "auto" }, o.title)));
        merge.addEventListener("change", () => merge.value && sendAction(this.live, this.root, ACTIONS.AGENDA_REMOVE, { item_id: item.id, into_id: Number(merge.value) }));
        return h("span", { class: "row" },
          h("button", { type: "button", class: "small secondary", "aria-label": t("Move {title} up", { title: item.title }),
            onclick: () => move(item.id, -1) }, "↑"),
          h("button", { type: "button", class: "small secondary", "aria-label": t("Move {title} down", { title: item.title }),
            onclick: () => move(item.id, 1) }, "↓"),
          minutes,
          h("button", { type: "button", class: "small", "data-current": item.id, "aria-label": t("Discuss {title} now", { title: item.title }),
            onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_CURRENT, { item_id: item.id }) }, t("Now")),
          merge,
          h("button", { type: "button", class: "link danger small", "aria-label": t("Remove {title}", { title: item.title }),
            onclick: () => sendAction(this.live, this.root, ACTIONS.AGENDA_REMOVE, { item_id: item.id }) }, t("remove")));
      }));
  }
}
