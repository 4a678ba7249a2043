// The board stage on each screen: the phone's note form and editor, the
// console's controls, the projector's read-only view.
import { ACTIONS } from "/protocol.js";
import { announce, h, showError, withNodes } from "./dom.js";
import { BoardView, NOTE_H, NOTE_W, boardOfStage } from "./board.js";
import { sendAction } from "./live.js";
import { t, tk, tn } from "./i18n.js";

const COLOURS = ["yellow", "pink", "blue", "green", "orange", "purple"];
const NOTE_MAX = 280;

function freeSpot(board) {
  return {
    x: Math.round(20 + Math.random() * (board.width - NOTE_W - 40)),
    y: Math.round(20 + Math.random() * (board.height - NOTE_H - 40)),
  };
}

// The colours' names as people read them (the values sent stay the English ones).
function colourName(c) {
  const names = { yellow: t("yellow"), pink: t("pink"), blue: t("blue"), green: t("green"),
    orange: t("orange"), purple: t("purple") };
  return names[c] || c;
}

function colourPicker(name, selected) {
  return h("div", { class: "colours", role: "radiogroup", "aria-label": t("Colour") },
    ...COLOURS.map((c) => h("label", { class: `swatch colour-${c}`, title: colourName(c) },
      h("input", { type: "radio", name, value: c, checked: c === selected }),
      h("span", { class: "sr" }, colourName(c)))));
}

function counter(textarea) {
  const out = h("span", { class: "small muted counter", dir: "ltr" });
  const update = () => { out.textContent = `${textarea.value.length} / ${NOTE_MAX}`; };
  textarea.addEventListener("input", update);
  update();
  return out;
}

// A board's scrolling area: a named region the keyboard can reach and scroll.
function boardArea(cls, label) {
  return h("div", { class: `board-area ${cls}`, role: "region", "aria-label": label, tabindex: 0 });
}

// Where a note goes when put in an area without dragging: under the area's title,
// below the notes already in it or placed under it.
function spotIn(board, group, note) {
  const under = board.notes.filter((n) => n.id !== note.id && n.x !== undefined &&
    (n.group_id === group.id || (Math.abs(n.x - group.x) < NOTE_W / 2 && n.y >= group.y && n.y < group.y + 4 * NOTE_H)));
  const y = under.length ? Math.max(...under.map((n) => n.y)) + 36 : group.y + 36;
  return {
    x: Math.min(Math.max(group.x, 0), board.width - NOTE_W),
    y: Math.min(Math.max(y, 0), board.height - NOTE_H),
  };
}

// -- phone ------------------------------------------------------------------------------

export class PhoneBoard {
  constructor(root, live) {
    this.root = root;
    this.live = live;
    this.editing = null;
  }

  mount(body, state, stage) {
    const board = boardOfStage(state, stage);
    this.stageId = stage.id;
    const text = h("textarea", { name: "text", maxlength: NOTE_MAX, rows: 3, required: true, dir: "auto",
      placeholder: t("One idea per note") });
    const form = h("form", { class: "stack note-form", "data-form": "note" },
      h("label", { for: "note-text" }, t("Your note")), text, counter(text),
      colourPicker("colour", "yellow"),
      h("button", { type: "submit" }, t("Add note")));
    text.id = "note-text";
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      showError(this.root, null);
      const colour = form.querySelector("input[name=colour]:checked").value;
      const spot = freeSpot(this.currentBoard());
      this.live.send(ACTIONS.NOTE_CREATE, { text: text.value, colour, ...spot })
        .then((ack) => { text.value = ""; text.dispatchEvent(new Event("input")); this.acked(ack); announce(t("Your note is on the board.")); })
        .catch((error) => showError(this.root, error));
    });
    this.notice = h("p", { class: "notice small", "data-bind": "board-notice" });
    this.editor = h("div", { class: "note-editor", hidden: true, tabindex: -1, role: "group", "aria-label": t("Edit your note") });
    this.area = boardArea("phone-board", t("The board"));
    const zoom = h("div", { class: "row zoom" },
      h("button", { type: "button", class: "secondary small", "aria-label": t("Zoom out"), onclick: () => this.view.setZoom(this.view.zoom / 1.5) }, "−"),
      h("button", { type: "button", class: "secondary small", "aria-label": t("Zoom in"), onclick: () => this.view.setZoom(this.view.zoom * 1.5) }, "+"),
      h("span", { class: "small muted" }, t("Drag your own notes, or tap one to edit or move it; scroll to look around.")));
    body.replaceChildren(form, this.notice, this.editor, zoom, this.area);
    this.view = new BoardView(this.area, {
      live: this.live, role: "participant", fit: "width", zoom: 2.2,
      onNoteTap: (note) => note.mine && this.edit(note),
      onError: (error) => showError(this.root, error),
    });
    this.update(state, board);
  }

  currentBoard() { return boardOfStage(this.live.state, { id: this.stageId, type: "board" }); }

  acked(ack) {
    // The ack carries the full note, the broadcast may only carry a private stub. A
    // retried action is answered from its receipt, with the note as it was then: once
    // the state has reached the ack's event, later events (a move, a delete) are newer.
    const note = ack.note;
    const board = this.currentBoard();
    const i = board.notes.findIndex((n) => n.id === note.id);
    const news = this.live.state.seq < (ack.seq || 0);
    if (i < 0) { if (news) board.notes.push(note); }
    else if (news || board.notes[i].text === undefined) board.notes[i] = note;
    else board.notes[i].mine = true;
    this.update(this.live.state, board);
  }

  update(state, board) {
    const s = board.settings;
    const mine = board.notes.filter((n) => n.mine).length;
    const parts = [tn("{n} note of yours.", "{n} notes of yours.", mine)];
    if (s.private) parts.push(t("Private mode: only you and the facilitator see your notes until they are revealed."));
    if (s.locked) parts.push(t("The board is locked."));
    this.notice.textContent = parts.join(" ");
    this.root.querySelector('[data-form="note"] button').disabled = Boolean(s.locked);
    this.view.render(board);
  }

  // Moving a note without dragging: into one of the board's areas, or by steps.
  areaChoice(note) {
    const board = this.currentBoard();
    if (!board || board.settings.locked) return null;
    const step = (dx, dy, label) => h("button", { type: "button", class: "secondary small", "data-nudge": `${dx},${dy}`,
      onclick: () => this.moveNote(note, { x: note.x + dx, y: note.y + dy }, t("Moved.")) }, label);
    const areas = board.groups.length ? h("select", { id: "note-area", "data-control": "note-area" },
      h("option", { value: "" }, t("Choose an area…")),
      ...board.groups.map((g) => h("option", { value: g.id, dir: "auto" }, tk(g.title)))) : null;
    if (areas) {
      areas.addEventListener("change", () => {
        const group = board.groups.find((g) => String(g.id) === areas.value);
        if (group) this.moveNote(note, spotIn(board, group, note), t("Moved to {area}.", { area: tk(group.title) }), group.id);
      });
    }
    return h("div", { class: "stack note-move" },
      areas ? h("label", { for: "note-area" }, t("Move it to an area")) : null, areas,
      h("div", { class: "row", role: "group", "aria-label": t("Move the note") },
        step(-60, 0, t("◀ Left")), step(60, 0, t("Right ▶")), step(0, -60, t("▲ Up")), step(0, 60, t("Down ▼"))));
  }

  moveNote(note, spot, said, groupId) {
    const board = this.currentBoard();
    const x = Math.min(Math.max(spot.x, 0), board.width - NOTE_W);
    const y = Math.min(Math.max(spot.y, 0), board.height - NOTE_H);
    const payload = { note_id: note.id, x, y };
    if (groupId !== undefined && board.settings.participants_group) payload.group_id = groupId;
    showError(this.root, null);
    this.live.send(ACTIONS.NOTE_MOVE, payload)
      .then(() => { Object.assign(note, { x, y }); announce(said); })
      .catch((error) => showError(this.root, error));
  }

  edit(note, conflict) {
    this.editing = note;
    const text = h("textarea", { maxlength: NOTE_MAX, rows: 3, "data-bind": "edit-text", dir: "auto" });
    text.value = note.text;
    const message = conflict ? h("p", { class: "error", role: "alert" }, conflict) : null;
    text.setAttribute("aria-label", t("Text of your note"));
    const save = h("button", { type: "button" }, t("Save"));
    const remove = h("button", { type: "button", class: "secondary danger" }, t("Delete"));
    const cancel = h("button", { type: "button", class: "secondary" }, t("Cancel"));
    this.editor.replaceChildren(h("div", { class: "stack" }, h("strong", {}, t("Edit your note")), message,
      text, counter(text), colourPicker("edit-colour", note.colour), h("div", { class: "row" }, save, remove, cancel),
      this.areaChoice(note)));
    this.editor.hidden = false;
    this.editor.focus(); // the keyboard goes on from the editor (no soft keyboard pops up)
    const close = () => { this.editor.hidden = true; this.editing = null; };
    cancel.addEventListener("click", close);
    remove.addEventListener("click", () => {
      this.live.send(ACTIONS.NOTE_DELETE, { note_id: note.id }).then(close)
        .catch((error) => showError(this.root, error));
    });
    save.addEventListener("click", () => {
      const colour = this.editor.querySelector("input[name=edit-colour]:checked").value;
      this.live.send(ACTIONS.NOTE_EDIT, { note_id: note.id, version: note.version, text: text.value, colour })
        .then((ack) => { close(); this.acked(ack); })
        .catch((error) => {
          if (error.code === "conflict" && error.details) {
            // Someone else saved first: show their text, keep ours to copy from.
            const mineText = text.value;
            const current = { ...note, text: error.details.text, version: error.details.version, colour: error.details.colour };
            this.edit(current, withNodes(
              t("Someone changed this note meanwhile. It now reads as below; your text was: “{text}”"),
              { text: h("bdi", {}, mineText) }));
          } else {
            showError(this.root, error);
          }
        });
    });
  }
}

// -- projector ----------------------------------------------------------------------------

export class ProjectorBoard {
  constructor(live) { this.live = live; }

  mount(body, state, stage) {
    this.area = h("div", { class: "board-area projector-board", role: "region", "aria-label": t("The board") });
    this.hidden = h("p", { class: "muted board-hidden" });
    body.replaceChildren(this.hidden, this.area);
    this.view = new BoardView(this.area, { live: this.live, role: "projector", fit: "contain" });
    this.update(state, boardOfStage(state, stage));
  }

  update(state, board) {
    const hidden = board.notes.filter((n) => n.x === undefined).length;
    this.hidden.textContent = hidden
      ? tn("{n} private note, shown when revealed", "{n} private notes, shown when revealed", hidden) : "";
    this.view.render(board);
  }
}

// -- console --------------------------------------------------------------------------------

export class ConsoleBoard {
  constructor(root, live) {
    this.root = root;
    this.live = live;
    this.selected = null;
  }

  mount(body, state, stage) {
    this.stageId = stage.id;
    const locked = h("input", { type: "checkbox", "data-control": "locked" });
    const priv = h("input", { type: "checkbox", "data-control": "private" });
    const authors = h("select", { "data-control": "authors", "aria-label": t("Authors") },
      h("option", { value: "show" }, t("Show authors")),
      h("option", { value: "hide_projector" }, t("Hide authors on the projector")),
      h("option", { value: "anonymous" }, t("Anonymous")));
    locked.addEventListener("change", () => sendAction(this.live, this.root, ACTIONS.BOARD_SETTINGS, { locked: locked.checked }));
    priv.addEventListener("change", () => sendAction(this.live, this.root, ACTIONS.BOARD_SETTINGS, { private: priv.checked }));
    authors.addEventListener("change", () => sendAction(this.live, this.root, ACTIONS.BOARD_SETTINGS, { authors: authors.value }));
    const groupTitle = h("input", { placeholder: t("New group title"), "aria-label": t("New group title"), maxlength: 80,
      "data-control": "group-title", dir: "auto" });
    const addGroup = h("button", { type: "button", class: "small", "data-action": "add-group" }, t("Add group"));
    addGroup.addEventListener("click", () => {
      if (!groupTitle.value.trim()) return;
      const spot = freeSpot(this.board());
      sendAction(this.live, this.root, ACTIONS.GROUP_CREATE, { title: groupTitle.value, x: spot.x, y: spot.y }).then(() => { groupTitle.value = ""; });
    });
    this.controls = { locked, priv, authors };
    this.selection = h("div", { class: "row small", "data-bind": "selection" });
    this.area = boardArea("console-board", t("The board"));
    body.replaceChildren(
      h("div", { class: "row board-controls" },
        h("label", { class: "inline" }, locked, " ", t("Locked")),
        h("label", { class: "inline" }, priv, " ", t("Private mode")),
        authors,
        h("button", { type: "button", class: "small", "data-action": "reveal",
          onclick: () => sendAction(this.live, this.root, ACTIONS.BOARD_REVEAL, {}) }, t("Reveal all")),
        h("button", { type: "button", class: "secondary small",
          onclick: () => sendAction(this.live, this.root, ACTIONS.BOARD_FOCUS, { note_id: null }) }, t("Clear focus"))),
      h("div", { class: "row" }, groupTitle, addGroup),
      this.selection, this.area);
    this.view = new BoardView(this.area, {
      live: this.live, role: "facilitator", fit: "width", canGroup: () => true,
      onNoteTap: (note) => { this.selected = note.id; this.selectedGroup = null; this.update(this.live.state, this.board()); },
      onGroupTap: (group) => { this.selectedGroup = group.id; this.selected = null; this.update(this.live.state, this.board()); },
      onError: (error) => showError(this.root, error),
    });
    this.update(state, boardOfStage(state, stage));
  }

  board() { return boardOfStage(this.live.state, { id: this.stageId, type: "board" }); }

  update(state, board) {
    const s = board.settings;
    this.controls.locked.checked = Boolean(s.locked);
    this.controls.priv.checked = Boolean(s.private);
    this.controls.authors.value = s.authors;
    const note = board.notes.find((n) => n.id === this.selected);
    const group = board.groups.find((g) => g.id === this.selectedGroup);
    const typing = this.selection.contains(document.activeElement) && ["INPUT", "SELECT"].includes(document.activeElement.tagName);
    if (typing) {
      // leave the rename field alone while the facilitator types in it
    } else if (group) {
      const title = h("input", { value: group.title, maxlength: 80, "data-control": "group-rename", "aria-label": t("Group title"), dir: "auto" });
      this.selection.replaceChildren(
        h("span", {}, t("Group:"), " "), title,
        h("button", { type: "button", class: "small", onclick: () => sendAction(this.live, this.root, ACTIONS.GROUP_RENAME, { group_id: group.id, title: title.value }) }, t("Rename")),
        h("button", { type: "button", class: "small", onclick: () => sendAction(this.live, this.root, ACTIONS.BOARD_FOCUS, { group_id: group.id }) }, t("Focus on projector")),
        h("button", { type: "button", class: "secondary small danger", onclick: () => sendAction(this.live, this.root, ACTIONS.GROUP_DELETE, { group_id: group.id }) }, t("Remove group")));
    } else if (note) {
      // Grouping without a drag: the note goes under the group's title, below its notes.
      const into = h("select", { class: "small", "data-control": "note-group", "aria-label": t("Put the note in a group") },
        h("option", { value: "" }, t("Put in a group…")),
        ...board.groups.map((g) => h("option", { value: g.id, selected: g.id === note.group_id, dir: "auto" }, tk(g.title))));
      into.addEventListener("change", () => {
        const target = board.groups.find((g) => String(g.id) === into.value);
        if (!target) return;
        const spot = spotIn(board, target, note);
        sendAction(this.live, this.root, ACTIONS.NOTE_MOVE, { note_id: note.id, group_id: target.id, ...spot });
      });
      this.selection.replaceChildren(
        h("span", {}, withNodes(t("Selected: “{note}”"), { note: h("bdi", {}, note.text.slice(0, 40)) })),
        board.groups.length ? into : null,
        h("button", { type: "button", class: "small", onclick: () => sendAction(this.live, this.root, ACTIONS.BOARD_FOCUS, { note_id: note.id }) }, t("Focus on projector")),
        h("button", { type: "button", class: "secondary small danger", onclick: () => sendAction(this.live, this.root, ACTIONS.NOTE_DELETE, { note_id: note.id }) }, t("Delete")));
    } else {
      this.selection.replaceChildren(h("span", { class: "muted" },
        t("{notes} notes, {groups} groups. Drag notes into groups (or move them with the arrow keys); tap a note, or press Enter on it, to select it.",
          { notes: board.notes.length, groups: board.groups.length })));
    }
    this.view.render(board);
  }
}
