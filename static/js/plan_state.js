// How action-plan and sign-off events change the state kept by live.js:
// state.plan (settings, rows, accountability) and state.signoff.
import { TYPES } from "/protocol.js";

// Organisations are told apart as the server does: spaces collapsed, case folded.
export function orgKey(name) {
  // As the server's name_key: compatibility forms folded, case folded, spaces made one.
  return String(name || "").normalize("NFKC").toLowerCase().split(/\s+/).filter(Boolean).join(" ");
}

function upsertBy(list, item, same) {
  const i = list.findIndex((x) => same(x, item));
  if (i >= 0) list[i] = item;
  else list.push(item);
}

const sameId = (a, b) => a.id === b.id;
const sameOrg = (a, b) => orgKey(a.organisation) === orgKey(b.organisation);

// A change to the rows after a freeze: nobody signs until it is frozen again.
function rowsChanged(state) {
  if (state.signoff.version) state.signoff.stale = true;
}

function putRow(state, data) {
  upsertBy(state.plan.actions, data.action, sameId);
  rowsChanged(state);
}

export const planReducers = {
  [TYPES.PLAN_CREATED]: putRow,
  [TYPES.PLAN_UPDATED]: putRow,
  [TYPES.PLAN_REMOVED](state, data) {
    state.plan.actions = state.plan.actions.filter((r) => r.id !== data.action_id);
    rowsChanged(state);
  },
  [TYPES.PLAN_FROZEN](state, data) {
    state.signoff.version = data.version;
    state.signoff.stale = false;
  },
  [TYPES.SIGNOFF_REPRESENTATIVE](state, data) {
    upsertBy(state.signoff.representatives, data.representative, sameOrg);
  },
  [TYPES.SIGNOFF_SIGNED](state, data) {
    const version = state.signoff.version;
    if (version && version.id === data.version_id) upsertBy(version.signatures, data.signature, sameOrg);
  },
};

// Transients that replace a derived view in the state.
export const planTransients = {
  [TYPES.PLAN_ACCOUNTABILITY](state, data) { state.plan.accountability = data; },
};
