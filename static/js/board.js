// Draws a board (notes and groups on a fixed logical canvas) and lets the
// user drag what they may move, with pointer events (mouse, pen and touch).
// While dragging, positions go out at most every 50 ms as note:drag; the drop
// is one note:move, which the server numbers and stores. A note the user may
// move is also a button for the keyboard: arrow keys move it (a note:move per
// press), Enter or Space does what a tap does.
import { ACTIONS } from "/protocol.js";
import { h } from "./dom.js";
import { KeyedMoves, arrowMove } from "./keyboard_moves.js";
import { t, tk } from "./i18n.js";

export const NOTE_W = 220;
export const NOTE_H = 140;
const DRAG_EVERY_MS = 50;
const KEY_STEP = 20; // board units per arrow key press; 5 times that with Shift
let hints = 0;

function clamp(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }

// The rectangle a group covers: its label and its notes, in board units.
export function groupFrame(group, notes) {
  const members = notes.filter((n) => n.group_id === group.id && n.x !== undefined);
  let x0 = group.x, y0 = group.y, x1 = group.x + NOTE_W, y1 = group.y + 40;
  for (const n of members) {
    x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y);
    x1 = Math.max(x1, n.x + NOTE_W); y1 = Math.max(y1, n.y + NOTE_H);
  }
  return { x: x0 - 12, y: y0 - 12, w: x1 - x0 + 24, h: y1 - y0 + 24 };
}

export class BoardView {
  // options: live, role ("participant" | "facilitator" | "projector"), fit ("contain" | "width"),
  // onNoteTap(note), canGroup()
  constructor(container, options) {
    this.container = container;
    this.options = options;
    this.zoom = options.zoom || 1;
    this.board = null;
    this.dragging = null;
    // Moves made with the keys, until the server has them.
    this.keyed = new KeyedMoves({ redraw: () => this.render(this.board), failed: (error) => this.failed(error) });
    this.surface = h("div", { class: "board-surface" });
    // How to move a note without a pointer, read with each note that can move.
    this.hintId = `board-hint-${++hints}`;
    const hint = h("span", { class: "sr", id: this.hintId },
      t("Arrow keys move the note, with Shift in bigger steps; Enter opens it."));
    container.replaceChildren(hint, this.surface);
    window.addEventListener("resize", () => this.board && this.render(this.board));
  }

  scale() {
    const { width, height } = this.board;
    const cw = this.container.clientWidth || width;
    const ch = this.container.clientHeight || height;
    const fit = this.options.fit === "contain" ? Math.min(cw / width, ch / height) : cw / width;
    return fit * this.zoom;
  }

  setZoom(zoom) {
    this.zoom = clamp(zoom, 1, 5);
    if (this.board) this.render(this.board);
  }

  canMove(note) {
    if (this.options.role === "projector" || note.x === undefined) return false;
    if (this.options.role === "facilitator") return true;
    return Boolean(note.mine) && !this.board.settings.locked;
  }

  render(board) {
    this.board = board;
    if (this.dragging !== null) return; // redrawn when the drag ends
    const s = this.scale();
    this.surface.style.width = `${board.width * s}px`;
    this.surface.style.height = `${board.height * s}px`;
    this.surface.style.fontSize = `${26 * s}px`;
    const focus = board.settings.focus || {};
    this.surface.classList.toggle("has-focus", Boolean(focus.note_id || focus.group_id));
    const visible = board.notes.filter((n) => n.x !== undefined).map((n) => this.keyedAt("note", n));
    const groups = board.groups.map((g0) => {
      const g = this.keyedAt("group", g0);
      const f = groupFrame(g, visible);
      // An area's title from the kit is translated; one the facilitator typed is shown as typed.
      const title = h("span", { class: `group-title${this.options.role === "facilitator" ? " movable" : ""}`, dir: "auto" },
        tk(g.title));
      if (this.options.role === "facilitator") {
        title.addEventListener("pointerdown", (ev) => this.groupDown(ev, g, title));
        // The keyboard's way: Enter selects the group, arrow keys move it.
        title.tabIndex = 0;
        title.setAttribute("role", "button");
        title.setAttribute("aria-describedby", this.hintId);
        title.dataset.groupTitle = g.id;
        title.addEventListener("keydown", (ev) => this.groupKey(ev, g));
      }
      return h("div", {
        class: `group${focus.group_id === g.id ? " focused" : ""}`, "data-group-id": g.id,
        style: `left:${f.x * s}px;top:${f.y * s}px;width:${f.w * s}px;height:${f.h * s}px`,
      }, title);
    });
    const notes = visible.map((n) => this.noteElement(n, s, focus.note_id === n.id));
    // A redraw keeps the keyboard on the note or group title it was on.
    const active = document.activeElement;
    const inside = active && this.surface.contains(active);
    const focused = inside && active.dataset.noteId ? `[data-note-id="${active.dataset.noteId}"]`
      : inside && active.dataset.groupTitle ? `[data-group-title="${active.dataset.groupTitle}"]` : null;
    this.surface.replaceChildren(...groups, ...notes);
    if (focused) {
      const again = this.surface.querySelector(focused);
      if (again) again.focus({ preventScroll: true });
    }
  }

  noteElement(note, s, focused) {
    const movable = this.canMove(note);
    const el = h("div", {
      class: `note colour-${note.colour}${note.mine ? " mine" : ""}${movable ? " movable" : ""}` +
        `${focused ? " focused" : ""}${note.private ? " private" : ""}`,
      "data-note-id": note.id,
      style: `left:${note.x * s}px;top:${note.y * s}px;width:${NOTE_W * s}px;min-height:${NOTE_H * s}px`,
    }, h("span", { class: "note-text", dir: "auto" }, note.text),
    note.author ? h("span", { class: "note-author", dir: "auto" }, note.author) : null);
    el.addEventListener("pointerdown", (ev) => this.pointerDown(ev, note, el));
    // A tap opens the note on its click, not on the finger lifting: what the tap opens
    // moves the page, and the click that follows would land on whatever came under it.
    el.addEventListener("click", () => {
      if (this.dragged === note.id) this.dragged = null;
      else if (this.options.onNoteTap) this.options.onNoteTap(note);
    });
    if (movable || (this.options.onNoteTap && this.options.role === "facilitator")) {
      el.tabIndex = 0;
      el.setAttribute("role", "button");
      if (movable) el.setAttribute("aria-describedby", this.hintId);
      el.addEventListener("keydown", (ev) => this.keyDown(ev, note, el));
    }
    return el;
  }

  // The keyboard's way to do what a drag or a tap does.
  keyDown(ev, note, el) {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      if (this.options.onNoteTap) this.options.onNoteTap(note);
      return;
    }
    const arrow = arrowMove(ev, KEY_STEP, 5);
    if (!arrow || !this.canMove(note)) return;
    ev.preventDefault();
    const x = clamp(note.x + arrow[0], 0, this.board.width - NOTE_W);
    const y = clamp(note.y + arrow[1], 0, this.board.height - NOTE_H);
    this.keyMove("note", note.id, x, y, () => this.moveTo(note, x, y));
  }

  // An item where the keys have put it, while the server has not caught up.
  keyedAt(kind, item) {
    return this.keyed.at(`${kind}:${item.id}`, item);
  }

  // Draws a key press's move at once and stores it (KeyedMoves: one move at a time
  // on its way, a refusal undoes the moves).
  keyMove(kind, id, x, y, send) {
    this.keyed.move(`${kind}:${id}`, { x, y }, send, () => {
      this.render(this.board);
      if (document.activeElement) document.activeElement.scrollIntoView({ block: "nearest", inline: "nearest" });
    });
  }

  failed(error) {
    if (this.options.onError) this.options.onError(error);
    this.render(this.board);
  }

  // Stores a note's new place; where the facilitator groups, the group its centre is in.
  moveTo(note, x, y) {
    const payload = { note_id: note.id, x, y };
    if (this.options.canGroup && this.options.canGroup()) {
      const others = this.board.notes.filter((n) => n.id !== note.id && n.x !== undefined);
      const target = this.board.groups.find((g) => {
        const f = groupFrame(g, others);
        const cx = x + NOTE_W / 2, cy = y + NOTE_H / 2;
        return cx >= f.x && cx <= f.x + f.w && cy >= f.y && cy <= f.y + f.h;
      });
      payload.group_id = target ? target.id : null;
    }
    return this.options.live.send(ACTIONS.NOTE_MOVE, payload);
  }

  pointerDown(ev, note, el) {
    const movable = this.canMove(note);
    const start = { x: ev.clientX, y: ev.clientY };
    const origin = { x: note.x, y: note.y };
    const s = this.scale();
    let moved = false;
    let lastSent = 0;
    if (movable) {
      el.setPointerCapture(ev.pointerId);
      ev.preventDefault();
    }
    const onMove = (e) => {
      if (!movable) return;
      const dx = (e.clientX - start.x) / s;
      const dy = (e.clientY - start.y) / s;
      if (!moved && Math.hypot(dx * s, dy * s) < 4) return;
      moved = true;
      this.dragging = note.id;
      const x = clamp(origin.x + dx, 0, this.board.width - 1);
      const y = clamp(origin.y + dy, 0, this.board.height - 1);
      el.style.left = `${x * s}px`;
      el.style.top = `${y * s}px`;
      el.classList.add("dragging");
      const now = Date.now();
      if (now - lastSent >= DRAG_EVERY_MS) {
        lastSent = now;
        this.options.live.request(ACTIONS.NOTE_DRAG, { note_id: note.id, x, y }).catch(() => {});
      }
      el.dataset.x = x;
      el.dataset.y = y;
    };
    const onUp = () => {
      el.removeEventListener("pointermove", onMove);
      el.removeEventListener("pointerup", onUp);
      el.removeEventListener("pointercancel", onUp);
      this.dragging = null;
      el.classList.remove("dragging");
      if (!moved) return; // a tap: its click follows
      this.dragged = note.id; // a mouse's click after a drag is not a tap
      setTimeout(() => { if (this.dragged === note.id) this.dragged = null; }, 0);
      this.render(this.board); // what arrived during the drag
      this.moveTo(note, Number(el.dataset.x), Number(el.dataset.y)).catch((error) => this.failed(error));
    };
    el.addEventListener("pointermove", onMove);
    el.addEventListener("pointerup", onUp);
    el.addEventListener("pointercancel", onUp);
  }

  groupKey(ev, group) {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      if (this.options.onGroupTap) this.options.onGroupTap(group);
      return;
    }
    const arrow = arrowMove(ev, KEY_STEP, 5);
    if (!arrow) return;
    ev.preventDefault();
    const x = clamp(group.x + arrow[0], 0, this.board.width);
    const y = clamp(group.y + arrow[1], 0, this.board.height);
    this.keyMove("group", group.id, x, y, () => this.options.live.send(ACTIONS.GROUP_MOVE, { group_id: group.id, x, y }));
  }

  // The facilitator drags a group by its title; its notes follow on the drop.
  groupDown(ev, group, title) {
    title.setPointerCapture(ev.pointerId);
    ev.preventDefault();
    const frame = title.parentElement;
    const start = { x: ev.clientX, y: ev.clientY };
    const s = this.scale();
    let moved = false;
    let dx = 0;
    let dy = 0;
    const onMove = (e) => {
      dx = (e.clientX - start.x) / s;
      dy = (e.clientY - start.y) / s;
      if (!moved && Math.hypot(dx * s, dy * s) < 4) return;
      moved = true;
      this.dragging = -group.id;
      frame.style.transform = `translate(${dx * s}px, ${dy * s}px)`;
    };
    const onUp = () => {
      title.removeEventListener("pointermove", onMove);
      title.removeEventListener("pointerup", onUp);
      title.removeEventListener("pointercancel", onUp);
      this.dragging = null;
      if (!moved) {
        if (this.options.onGroupTap) this.options.onGroupTap(group);
        return;
      }
      const x = clamp(group.x + dx, 0, this.board.width);
      const y = clamp(group.y + dy, 0, this.board.height);
      this.options.live.send(ACTIONS.GROUP_MOVE, { group_id: group.id, x, y })
        .catch((error) => { if (this.options.onError) this.options.onError(error); })
        .then(() => this.render(this.board));
    };
    title.addEventListener("pointermove", onMove);
    title.addEventListener("pointerup", onUp);
    title.addEventListener("pointercancel", onUp);
  }

  // Positions streamed while others drag (a batch every 50 ms): moves the drawing only.
  showDrag(data) {
    if (!this.board) return;
    const s = this.scale();
    for (const item of data.items || []) {
      if (this.dragging === item.note_id) continue;
      const el = this.surface.querySelector(`[data-note-id="${item.note_id}"]`);
      if (!el) continue;
      el.style.left = `${item.x * s}px`;
      el.style.top = `${item.y * s}px`;
    }
  }
}

export function boardOfStage(state, stage) {
  return stage && stage.type === "board" && state.boards ? state.boards[String(stage.id)] : null;
}
