// How agenda events change the state kept by live.js: state.agendas[stage_id].
import { TYPES } from "/protocol.js";

function agendaOf(state, stageId) {
  state.agendas = state.agendas || {};
  const key = String(stageId);
  if (!state.agendas[key]) state.agendas[key] = { settings: {}, items: [], voters: 0 };
  return state.agendas[key];
}

function byItem(state, itemId) {
  for (const agenda of Object.values(state.agendas || {})) {
    if (agenda.items.some((i) => i.id === itemId)) return agenda;
  }
  return null;
}

export const agendaReducers = {
  [TYPES.AGENDA_ITEM_ADDED](state, data) { agendaOf(state, data.item.stage_id).items.push(data.item); },
  [TYPES.AGENDA_ITEM_UPDATED](state, data) {
    const agenda = agendaOf(state, data.item.stage_id);
    const i = agenda.items.findIndex((x) => x.id === data.item.id);
    if (i >= 0) agenda.items[i] = data.item;
    else agenda.items.push(data.item);
  },
  [TYPES.AGENDA_ITEM_REMOVED](state, data) {
    const agenda = byItem(state, data.item_id);
    if (!agenda) return;
    agenda.items = agenda.items.filter((x) => x.id !== data.item_id);
    if (data.totals) agenda.totals = data.totals;
    if (agenda.mine) delete agenda.mine[String(data.item_id)];
  },
  [TYPES.AGENDA_ORDERED](state, data) {
    const agenda = agendaOf(state, data.stage_id);
    data.order.forEach((id, index) => {
      const item = agenda.items.find((x) => x.id === id);
      if (item) item.position = index + 1;
    });
  },
  [TYPES.AGENDA_DOTS](state, data) {
    const agenda = agendaOf(state, data.stage_id);
    agenda.voters = data.voters;
    if (data.totals) agenda.totals = data.totals;
    agenda.settings.revealed = data.revealed;
  },
  [TYPES.AGENDA_CHANGED](state, data) {
    const agenda = agendaOf(state, data.stage_id);
    agenda.settings = data.settings;
    if (data.server_time) agenda.server_time = data.server_time;
    agenda.received_at = Date.now() / 1000;
  },
};

export function applyAgendaCount(state, data) {
  agendaOf(state, data.stage_id).voters = data.voters;
}
