// How poll events change the state kept by live.js: state.polls (PollEntry[]).
import { TYPES } from "/protocol.js";

function entry(state, poll) {
  state.polls = state.polls || [];
  let found = state.polls.find((e) => e.poll.id === poll.id);
  if (!found) {
    found = { poll, rounds: [] };
    state.polls.push(found);
  }
  found.poll = poll;
  return found;
}

function putRound(found, round) {
  const i = found.rounds.findIndex((r) => r.number === round.number);
  if (i >= 0) found.rounds[i] = round;
  else found.rounds.push(round);
}

export const pollReducers = {
  [TYPES.POLL_CREATED](state, data) { entry(state, data.poll); },
  [TYPES.POLL_UPDATED](state, data) { entry(state, data.poll); },
  [TYPES.POLL_OPENED](state, data) {
    const found = entry(state, data.poll);
    putRound(found, data.round);
    found.count = { poll_id: data.poll.id, round: data.round.number, turnout: 0 };
    found.my_ballot = null;
  },
  [TYPES.POLL_CLOSED](state, data) {
    const found = entry(state, data.poll);
    putRound(found, data.round);
    delete found.count;
  },
};

// A running count (transient, coalesced): kept only if it is for the open round.
export function applyCount(state, data) {
  const found = (state.polls || []).find((e) => e.poll.id === data.poll_id);
  if (found && found.poll.status === "open" && found.poll.round === data.round) found.count = data;
}
