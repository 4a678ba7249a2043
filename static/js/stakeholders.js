// The stakeholder map on every screen: the power/interest grid, proposals,
// participatory placement (phones) and the room's medians and spreads.
import { ACTIONS } from "/protocol.js";
import { announce, h, showError, withNodes } from "./dom.js";
import { KeyedMoves, arrowMove } from "./keyboard_moves.js";
import { sendAction } from "./live.js";
import { t, tk } from "./i18n.js";

// Mirrors stakeholders.coverage() on the server.
export function coverage(state) {
  const accepted = state.stakeholders.items.filter((i) => i.status === "accepted");
  const lower = (s) => (s || "").toLowerCase();
  const sectors = new Set(accepted.map((i) => lower(i.sector)).filter(Boolean));
  const categories = new Set(accepted.map((i) => lower(i.category)).filter(Boolean));
  const inRoom = new Set(state.presence.by_sector.map((r) => lower(r.sector)));
  return {
    sectorsWithout: state.workshop.sectors.filter((s) => !sectors.has(lower(s))),
    categoriesWithout: state.workshop.stakeholder_categories.filter((c) => !categories.has(lower(c))),
    mappedNotInRoom: [...new Set(accepted.filter((i) => i.sector && !inRoom.has(lower(i.sector))).map((i) => i.sector))].sort(),
  };
}

function coveragePanel(state) {
  const c = coverage(state);
  // Sectors and categories are the kit's (translated) or typed by the facilitator.
  const list = (title, items) => h("div", { class: "coverage-list" }, h("strong", {}, title),
    items.length ? h("p", {}, items.map(tk).join(" · ")) : h("p", { class: "muted" }, t("none")));
  return h("div", { class: "coverage", "data-bind": "coverage" },
    list(t("Sectors with no stakeholder"), c.sectorsWithout),
    list(t("Categories with no stakeholder"), c.categoriesWithout),
    list(t("Mapped sectors with nobody in the room"), c.mappedNotInRoom));
}

function contested(state) {
  const summaries = state.stakeholders.summaries;
  return state.stakeholders.items
    .filter((i) => summaries[String(i.id)] && summaries[String(i.id)].count)
    .map((i) => ({ item: i, summary: summaries[String(i.id)] }))
    .sort((a, b) => b.summary.spread - a.summary.spread);
}

// -- the grid ---------------------------------------------------------------------------------

// A card's stance in words and a sign, not by its border colour alone.
const STANCE = { for: ["+", t("supports the plan")], against: ["−", t("opposes the plan")], neutral: ["", ""] };
const KEY_STEP = 0.5; // scale points per arrow key press; 4 times that with Shift
let hints = 0;

// A card at its place, anchored from its left edge (no interest) to its right edge
// (most interest) and top to bottom likewise, so a long name never reaches out of
// the grid (nor makes a phone scroll sideways).
function placeCard(el, power, interest, max) {
  el.style.left = `${(interest / max) * 100}%`;
  el.style.top = `${(1 - power / max) * 100}%`;
  el.style.transform = `translate(${-(interest / max) * 100}%, ${-(1 - power / max) * 100}%)`;
}

// The four quadrants as a place on the grid: their centres (power, interest).
export function quadrantSpots(max) {
  const hi = max * 0.75, lo = max * 0.25;
  return { manage_closely: [hi, hi], keep_satisfied: [hi, lo], keep_informed: [lo, hi], monitor: [lo, lo] };
}

class Grid {
  // options: live, draggable (bool), showSummaries (bool)
  constructor(container, options) {
    this.options = options;
    this.surface = h("div", { class: "grid-surface" });
    this.hintId = `grid-hint-${++hints}`;
    // Places given with the keys, until the server has them.
    this.keyed = new KeyedMoves({
      redraw: () => this.render(this.state),
      failed: (error) => { if (this.options.onError) this.options.onError(error); this.render(this.state); },
    });
    container.replaceChildren(h("span", { class: "sr", id: this.hintId },
      t("Arrow keys move the stakeholder: up and down for power, left and right for interest; with Shift in bigger steps.")),
    this.surface);
    this.dragging = null;
  }

  render(state) {
    this.state = state;
    if (this.dragging !== null) return;
    const { spec, items, summaries } = state.stakeholders;
    const max = spec.scale_max;
    const q = spec.quadrants;
    const pos = (power, interest) => `left:${(interest / max) * 100}%;top:${(1 - power / max) * 100}%`;
    const quadrants = [
      ["keep_satisfied", q.keep_satisfied], ["manage_closely", q.manage_closely],
      ["monitor", q.monitor], ["keep_informed", q.keep_informed],
    ].map(([key, label]) => h("div", { class: `quadrant q-${key}` }, tk(label)));
    const marks = [];
    if (this.options.showSummaries) {
      for (const item of items) {
        const s = summaries[String(item.id)];
        if (!s || !s.count) continue;
        const size = Math.min(60, Math.max(4, s.spread * 200)); // diameter: twice the spread
        marks.push(h("div", { class: "spread-ring", style: `${pos(s.power, s.interest)};width:${size}%;height:${size}%`,
          title: t("{name}: room median, spread {spread}%", { name: item.name, spread: Math.round(s.spread * 100) }) }));
        marks.push(h("div", { class: "median", "data-median-for": item.id, style: pos(s.power, s.interest) }, "◆"));
      }
    }
    const cards = items.filter((i) => i.status === "accepted").map((stored) => {
      const item = this.keyedAt(stored);
      const stance = item.position > 0 ? "for" : item.position < 0 ? "against" : "neutral";
      const [sign, words] = STANCE[stance];
      const el = h("div", { class: `card position-${stance}` + (this.options.draggable ? " movable" : ""),
        "data-stakeholder-id": item.id, dir: "auto" },
      sign ? h("span", { class: "stance", "aria-hidden": "true" }, `${sign} `) : null, item.name,
      words ? h("span", { class: "sr" }, ` (${words})`) : null);
      placeCard(el, item.power, item.interest, max);
      if (this.options.draggable) {
        el.addEventListener("pointerdown", (ev) => this.drag(ev, item, el));
        el.tabIndex = 0;
        el.setAttribute("role", "button");
        el.setAttribute("aria-describedby", this.hintId);
        el.addEventListener("keydown", (ev) => this.key(ev, item, el));
      }
      return el;
    });
    // A redraw keeps the keyboard on the card it was on.
    const active = document.activeElement;
    const focused = active && this.surface.contains(active) ? active.dataset.stakeholderId : null;
    this.surface.replaceChildren(...quadrants,
      h("span", { class: "axis axis-x" }, t("Interest →")), h("span", { class: "axis axis-y" }, t("Power →")),
      ...marks, ...cards);
    if (focused) {
      const again = this.surface.querySelector(`[data-stakeholder-id="${focused}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  // The keyboard's way to place a card: each arrow press moves it and stores the place
  // (up and down for power, left and right for interest).
  key(ev, item, el) {
    const arrow = arrowMove(ev, KEY_STEP, 4);
    if (!arrow) return;
    ev.preventDefault();
    const max = this.state.stakeholders.spec.scale_max;
    const axis = arrow[0] ? "interest" : "power";
    const by = arrow[0] || -arrow[1]; // up is more power
    const from = this.keyed.placeOf(item.id) || item; // where the last press put it
    const value = Math.min(Math.max(from[axis] + by, 0), max);
    const place = { power: from.power, interest: from.interest, [axis]: Math.round(value * 10) / 10 };
    placeCard(el, place.power, place.interest, max);
    this.keyed.move(item.id, place, () => this.options.live.send(ACTIONS.STAKEHOLDER_PLACE, { stakeholder_id: item.id, ...place }));
  }

  // A card where the keys have put it, while the server has not caught up.
  keyedAt(item) {
    return this.keyed.at(item.id, item);
  }

  drag(ev, item, el) {
    el.setPointerCapture(ev.pointerId);
    ev.preventDefault();
    const max = this.state.stakeholders.spec.scale_max;
    const rect = this.surface.getBoundingClientRect();
    this.dragging = item.id;
    const at = (e) => ({
      interest: Math.min(Math.max(((e.clientX - rect.left) / rect.width) * max, 0), max),
      power: Math.min(Math.max((1 - (e.clientY - rect.top) / rect.height) * max, 0), max),
    });
    let last = null;
    const move = (e) => {
      last = at(e);
      placeCard(el, last.power, last.interest, max);
    };
    const up = () => {
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
      el.removeEventListener("pointercancel", up);
      this.dragging = null;
      if (last) {
        const round = (v) => Math.round(v * 10) / 10;
        this.options.live.send(ACTIONS.STAKEHOLDER_PLACE, { stakeholder_id: item.id, power: round(last.power), interest: round(last.interest) })
          .catch((error) => { if (this.options.onError) this.options.onError(error); this.render(this.state); });
      }
      this.render(this.state);
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
    el.addEventListener("pointercancel", up);
  }
}

// -- screens ---------------------------------------------------------------------------------

export class ProjectorMap {
  constructor(live) { this.live = live; }

  mount(body, state) {
    this.gridArea = h("div", { class: "grid-area" });
    this.side = h("div", { class: "map-side" });
    body.replaceChildren(h("div", { class: "map-layout" }, this.gridArea, this.side));
    this.grid = new Grid(this.gridArea, { live: this.live, draggable: false, showSummaries: true });
    this.update(state);
  }

  update(state) {
    this.grid.render(state);
    const top = contested(state).slice(0, 5);
    this.side.replaceChildren(...[ // replaceChildren would write a null out as "null"
      top.length ? h("div", { class: "contested" }, h("strong", {}, t("Most contested")),
        h("ol", {}, ...top.map(({ item, summary }) => h("li", { "data-contested": item.id },
          withNodes(t("{name} · {count} placed · spread {spread}%",
            { count: summary.count, spread: Math.round(summary.spread * 100) }), { name: h("bdi", {}, item.name) }))))) : null,
      coveragePanel(state)].filter(Boolean));
  }
}

export class ConsoleMap {
  constructor(root, live) { this.root = root; this.live = live; }

  mount(body, state) {
    const name = h("input", { placeholder: t("Stakeholder name"), "aria-label": t("Stakeholder name"), maxlength: 80,
      "data-control": "stakeholder-name", dir: "auto" });
    const category = h("select", { "aria-label": t("Category") }, h("option", { value: "" }, t("Category…")),
      ...state.workshop.stakeholder_categories.map((c) => h("option", { value: c }, tk(c))));
    const sector = h("select", { "aria-label": t("Sector") }, h("option", { value: "" }, t("Sector…")),
      ...state.workshop.sectors.map((s) => h("option", { value: s }, tk(s))));
    const add = h("button", { type: "button", class: "small", "data-action": "add-stakeholder" }, t("Add"));
    add.addEventListener("click", () => {
      if (!name.value.trim()) return;
      sendAction(this.live, this.root, ACTIONS.STAKEHOLDER_ADD, { name: name.value, category: category.value, sector: sector.value })
        .then(() => { name.value = ""; });
    });
    this.mode = h("input", { type: "checkbox", "data-control": "participatory" });
    this.mode.addEventListener("change", () => sendAction(this.live, this.root, ACTIONS.MAP_MODE, { participatory: this.mode.checked }));
    this.gridArea = h("div", { class: "grid-area console-grid-area" });
    this.list = h("div", { class: "stakeholder-list" });
    this.coverage = h("div");
    body.replaceChildren(
      h("div", { class: "row" }, name, category, sector, add),
      h("label", { class: "inline" }, this.mode, " ", t("Participatory: everyone places every stakeholder on their phone")),
      h("div", { class: "map-layout" }, this.gridArea, h("div", {}, this.list, this.coverage)));
    this.grid = new Grid(this.gridArea, { live: this.live, draggable: true, showSummaries: true,
      onError: (error) => showError(this.root, error) });
    this.update(state);
  }

  update(state) {
    const map = state.stakeholders;
    this.mode.checked = Boolean(map.settings.participatory);
    this.grid.render(state);
    this.coverage.replaceChildren(coveragePanel(state));
    if (this.editing && this.list.querySelector(".stakeholder-editor")) return; // not under the pen
    const accepted = map.items.filter((i) => i.status === "accepted");
    this.list.replaceChildren(h("strong", {}, t("{count} stakeholders", { count: map.items.length })),
      h("ul", {}, ...map.items.map((item) => {
        const summary = map.summaries[String(item.id)];
        const merge = h("select", { class: "small", "aria-label": t("Merge {name} into", { name: item.name }) },
          h("option", { value: "" }, t("Merge into…")),
          ...accepted.filter((o) => o.id !== item.id).map((o) => h("option", { value: o.id, dir: "auto" }, o.name)));
        merge.addEventListener("change", () => merge.value &&
          sendAction(this.live, this.root, ACTIONS.STAKEHOLDER_MERGE, { stakeholder_id: item.id, into_id: Number(merge.value) }));
        const edit = h("button", { type: "button", class: "link small", "data-edit": item.id, dir: "auto",
          onclick: () => { this.editing = item.id; this.list.replaceChildren(); this.update(this.live.state); } }, item.name);
        return h("li", { "data-stakeholder-row": item.id },
          this.editing === item.id ? this.editor(state, item) : null,
          h("span", {}, edit, item.status === "proposed" ? h("em", {}, " ", t("(proposed)")) : null,
            summary && summary.count ? h("span", { class: "muted small" }, " · ",
              t("{count} placed, spread {spread}%", { count: summary.count, spread: Math.round(summary.spread * 100) })) : null),
          h("span", { class: "row" },
            item.status === "proposed" ? h("button", { type: "button", class: "small", "data-accept": item.id, onclick: () => sendAction(this.live, this.root, ACTIONS.STAKEHOLDER_ACCEPT, { stakeholder_id: item.id }) }, t("Accept")) : null,
            summary && summary.count ? h("button", { type: "button", class: "small secondary", onclick: () => sendAction(this.live, this.root, ACTIONS.STAKEHOLDER_ADOPT, { stakeholder_id: item.id }) }, t("Adopt median")) : null,
            merge,
            h("button", { type: "button", class: "link danger small", "aria-label": t("Remove {name}", { name: item.name }), onclick: () => sendAction(this.live, this.root, ACTIONS.STAKEHOLDER_REMOVE, { stakeholder_id: item.id }) }, t("remove"))));
      })));
  }

  // The card's attributes (Schmeer's table): edited with the version seen, so a
  // second console open on the same workshop cannot silently overwrite them.
  editor(state, item) {
    const field = (label, input) => h("label", { class: "small" }, label, " ", input);
    // The kit's lists (translated when they are the kit's text); the values sent stay as they are.
    const choose = (values, current) => h("select", {}, h("option", { value: "" }, "—"),
      ...values.map((v) => h("option", { value: v, selected: v === current }, tk(v))));
    const category = choose(state.workshop.stakeholder_categories, item.category);
    const sector = choose(state.workshop.sectors, item.sector);
    const level = choose(state.workshop.levels, item.level);
    const positions = state.stakeholders.spec.positions;
    const position = h("select", {}, ...Object.keys(positions).map(Number).sort((a, b) => a - b)
      .map((k) => h("option", { value: k, selected: k === item.position }, tk(positions[String(k)]))));
    const legitimacy = h("input", { type: "checkbox", checked: item.legitimacy });
    const urgency = h("input", { type: "checkbox", checked: item.urgency });
    const notes = h("textarea", { rows: 2, maxlength: 500, dir: "auto" });
    notes.value = item.notes;
    const save = h("button", { type: "button", class: "small" }, t("Save"));
    save.addEventListener("click", () => {
      sendAction(this.live, this.root, ACTIONS.STAKEHOLDER_UPDATE, {
        stakeholder_id: item.id, version: item.version, category: category.value, sector: sector.value,
        level: level.value, position: Number(position.value), legitimacy: legitimacy.checked,
        urgency: urgency.checked, notes: notes.value,
      }).then(() => { this.editing = null; this.update(this.live.state); });
    });
    return h("div", { class: "stack stakeholder-editor" },
      field(t("Category"), category), field(t("Sector"), sector), field(t("Level"), level),
      field(t("Position"), position),
      h("label", { class: "inline small" }, legitimacy, " ", t("legitimate claim")),
      h("label", { class: "inline small" }, urgency, " ", t("urgent claim")),
      field(t("Notes"), notes),
      h("div", { class: "row" }, save, h("button", { type: "button", class: "small secondary",
        onclick: () => { this.editing = null; this.update(this.live.state); } }, t("Cancel"))));
  }
}

export class PhoneMap {
  constructor(root, live) { this.root = root; this.live = live; }

  mount(body, state) {
    const name = h("input", { id: "propose-name", maxlength: 80, placeholder: t("An organisation or group"), dir: "auto" });
    const form = h("form", { class: "stack", "data-form": "propose" },
      h("label", { for: "propose-name" }, t("Propose a stakeholder")), name,
      h("button", { type: "submit", class: "secondary" }, t("Propose")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      showError(this.root, null);
      this.live.send(ACTIONS.STAKEHOLDER_ADD, { name: name.value })
        .then(() => {
          name.value = "";
          this.say(t("Sent to the facilitator."));
          announce(t("Your proposal is sent to the facilitator."));
        })
        .catch((error) => showError(this.root, error));
    });
    this.message = h("p", { class: "small muted", "aria-live": "polite" });
    this.placing = h("div", { class: "placing" });
    this.gridArea = h("div", { class: "grid-area phone-grid-area" });
    body.replaceChildren(form, this.message, this.placing, this.gridArea);
    this.grid = new Grid(this.gridArea, { live: this.live, draggable: false, showSummaries: false });
    this.shown = null;
    this.update(state);
  }

  say(text) { this.message.textContent = text; }

  update(state) {
    const map = state.stakeholders;
    const participatory = Boolean(map.settings.participatory);
    this.gridArea.hidden = participatory;
    if (!participatory) {
      this.placing.replaceChildren();
      this.shown = null;
      this.grid.render(state);
      return;
    }
    // Rebuild the sliders only when the list of stakeholders changes, not under a thumb.
    const key = map.items.filter((i) => i.status === "accepted").map((i) => i.id).join(",");
    if (key === this.shown) return;
    this.shown = key;
    const max = map.spec.scale_max;
    const mine = map.mine || {};
    this.placing.replaceChildren(h("p", { class: "notice" },
      t("Place each stakeholder: how much power do they have over the plan, how interested are they? Only the room's median is shown, never your answer.")),
      ...map.items.filter((i) => i.status === "accepted").map((item) => {
        const saved = mine[String(item.id)];
        const power = h("input", { type: "range", min: 0, max, step: 0.5, value: saved ? saved.power : max / 2,
          "aria-label": t("Power of {name}", { name: item.name }) });
        const interest = h("input", { type: "range", min: 0, max, step: 0.5, value: saved ? saved.interest : max / 2,
          "aria-label": t("Interest of {name}", { name: item.name }) });
        const status = h("span", { class: "small muted" }, saved ? t("saved") : t("not placed yet"));
        const save = h("button", { type: "button", class: "small", "data-place": item.id,
          "aria-label": t("Save the place of {name}", { name: item.name }) }, t("Save"));
        save.addEventListener("click", () => {
          this.live.send(ACTIONS.PLACEMENT_SET, { stakeholder_id: item.id, power: Number(power.value), interest: Number(interest.value) })
            .then((ack) => {
              (map.mine = map.mine || {})[String(item.id)] = { power: ack.power, interest: ack.interest };
              status.textContent = t("saved");
              announce(t("{name} placed: power {power}, interest {interest}.",
                { name: item.name, power: ack.power, interest: ack.interest }));
            })
            .catch((error) => showError(this.root, error));
        });
        // Or in one step: the centre of a quadrant (the sliders follow, then Save).
        const spots = quadrantSpots(max);
        const quadrant = h("select", { "aria-label": t("Quadrant of {name}", { name: item.name }), "data-quadrant": item.id },
          h("option", { value: "" }, t("Or choose a quadrant…")),
          ...Object.keys(spots).map((key) => h("option", { value: key }, tk(map.spec.quadrants[key]))));
        quadrant.addEventListener("change", () => {
          if (!spots[quadrant.value]) return;
          [power.value, interest.value] = spots[quadrant.value].map(String);
          status.textContent = t("not saved yet");
        });
        return h("div", { class: "place-card", "data-place-card": item.id }, h("strong", { dir: "auto" }, item.name),
          h("label", { class: "small" }, t("Power"), " ", power), h("label", { class: "small" }, t("Interest"), " ", interest),
          quadrant, h("div", { class: "row" }, save, status));
      }));
  }
}
