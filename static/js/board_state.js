// How board events change the state kept by live.js: state.boards[stage_id].
import { TYPES } from "/protocol.js";

function boardOf(state, stageId) {
  state.boards = state.boards || {};
  const key = String(stageId);
  if (!state.boards[key]) state.boards[key] = { settings: {}, notes: [], groups: [] };
  return state.boards[key];
}

// A private stub ({id, stage_id, private}) never hides the text of one's own note.
function mergeNote(existing, incoming) {
  if (!existing) return incoming;
  if (incoming.private && incoming.text === undefined && existing.text !== undefined && existing.mine) {
    return existing;
  }
  const merged = Object.assign({}, incoming);
  if (merged.mine === undefined && existing.mine !== undefined) merged.mine = existing.mine;
  return merged;
}

export function upsertNote(state, note) {
  const board = boardOf(state, note.stage_id);
  const i = board.notes.findIndex((n) => n.id === note.id);
  if (i >= 0) board.notes[i] = mergeNote(board.notes[i], note);
  else board.notes.push(note);
}

export const boardReducers = {
  [TYPES.NOTE_CREATED](state, data) { upsertNote(state, data.note); },
  [TYPES.NOTE_UPDATED](state, data) { upsertNote(state, data.note); },
  [TYPES.NOTE_MOVED](state, data) {
    if (data.private && data.x === undefined) return;
    const note = boardOf(state, data.stage_id).notes.find((n) => n.id === data.note_id);
    if (note) Object.assign(note, { x: data.x, y: data.y, group_id: data.group_id });
  },
  [TYPES.NOTE_DELETED](state, data) {
    const board = boardOf(state, data.stage_id);
    board.notes = board.notes.filter((n) => n.id !== data.note_id);
  },
  [TYPES.GROUP_CREATED](state, data) { upsertGroup(state, data.group); },
  [TYPES.GROUP_UPDATED](state, data) { upsertGroup(state, data.group); },
  [TYPES.GROUP_MOVED](state, data) {
    upsertGroup(state, data.group);
    const board = boardOf(state, data.group.stage_id);
    for (const moved of data.notes) {
      const note = board.notes.find((n) => n.id === moved.id);
      if (note) Object.assign(note, { x: moved.x, y: moved.y });
    }
  },
  [TYPES.GROUP_DELETED](state, data) {
    const board = boardOf(state, data.stage_id);
    board.groups = board.groups.filter((g) => g.id !== data.group_id);
    for (const note of board.notes) if (note.group_id === data.group_id) note.group_id = null;
  },
  [TYPES.BOARD_CHANGED](state, data) {
    const board = boardOf(state, data.stage_id);
    board.settings = data.settings;
    if (data.notes) {
      const before = new Map(board.notes.map((n) => [n.id, n]));
      board.notes = data.notes.map((n) => mergeNote(before.get(n.id), n));
    }
  },
};

function upsertGroup(state, group) {
  const board = boardOf(state, group.stage_id);
  const i = board.groups.findIndex((g) => g.id === group.id);
  if (i >= 0) board.groups[i] = group;
  else board.groups.push(group);
}
