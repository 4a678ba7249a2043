// How organisation events change state.organisations (the snapshot's list, in the
// order they were added); the facilitator's events also carry every row's `near`.
import { TYPES } from "/protocol.js";

function put(state, data) {
  const list = state.organisations || (state.organisations = []);
  const i = list.findIndex((o) => o.id === data.organisation.id);
  const row = { ...(i >= 0 ? list[i] : {}), ...data.organisation };
  if (i >= 0) list[i] = row;
  else list.push(row);
  if (data.near) for (const o of list) o.near = data.near[String(o.id)] || [];
}

export const organisationReducers = {
  [TYPES.ORGANISATION_ADDED]: put,
  [TYPES.ORGANISATION_UPDATED]: put,
  [TYPES.ORGANISATION_MERGED](state, data) {
    state.organisations = (state.organisations || []).filter((o) => o.id !== data.merged_id);
    put(state, data);
  },
};
