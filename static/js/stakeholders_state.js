// How stakeholder-map events change the state kept by live.js: state.stakeholders.
import { TYPES } from "/protocol.js";

export const stakeholderReducers = {
  [TYPES.STAKEHOLDER_ADDED](state, data) { upsert(state.stakeholders.items, data.stakeholder); },
  [TYPES.STAKEHOLDER_UPDATED](state, data) { upsert(state.stakeholders.items, data.stakeholder); },
  [TYPES.STAKEHOLDER_REMOVED](state, data) {
    const map = state.stakeholders;
    map.items = map.items.filter((i) => i.id !== data.stakeholder_id);
    delete map.summaries[String(data.stakeholder_id)];
  },
  [TYPES.MAP_CHANGED](state, data) { state.stakeholders.settings = data.settings; },
  [TYPES.PLACEMENT_SUMMARY](state, data) {
    if (data.summary) state.stakeholders.summaries[String(data.stakeholder_id)] = data.summary;
  },
};

function upsert(list, item) {
  const i = list.findIndex((x) => x.id === item.id);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

