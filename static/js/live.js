// The one module that owns the socket: connect, snapshot, sequence numbers,
// resync after a gap or a reconnect, and actions with ids, acks and retries.
// Screens give it a render function and send actions through it.
import { io } from "./vendor/socket.io.esm.min.js";
import { ACTIONS, EVENT, SNAPSHOT, TRANSIENT, TYPES } from "/protocol.js";
import { boardReducers } from "./board_state.js";
import { agendaReducers, applyAgendaCount } from "./agenda_state.js";
import { applyCount, pollReducers } from "./polls_state.js";
import { stakeholderReducers } from "./stakeholders_state.js";
import { planReducers, planTransients } from "./plan_state.js";
import { organisationReducers } from "./organisations_state.js";
import { LANG, t, tk } from "./i18n.js";
import { announce, showError } from "./dom.js";

const ACK_TIMEOUT_MS = 8000;
const MAX_TRIES = 4;

export function newActionId() {
  const bytes = new Uint8Array(12);
  (window.crypto || window.msCrypto).getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// What a reducer returns when the event cannot bring the state up to date by itself.
const STALE = "stale";
// The parts of the state each stage of these types has, derived from its config.
const STAGE_PARTS = { board: "boards", agenda: "agendas" };

// A new stage without its part, or a changed config, needs a fresh snapshot.
function partsStale(state, stages) {
  const before = new Map(state.stages.map((s) => [s.id, s]));
  return stages.some((s) => {
    const part = state[STAGE_PARTS[s.type]];
    const old = before.get(s.id);
    return (part && !part[String(s.id)]) || (old && JSON.stringify(old.config) !== JSON.stringify(s.config));
  });
}

// Applies a foundation event to the state; later stage types add their own.
const reducers = {
  [TYPES.STAGE_CHANGED](state, data) {
    state.current_stage_id = data.stage_id;
    const i = state.stages.findIndex((s) => s.id === data.stage.id);
    if (i >= 0) state.stages[i] = data.stage;
  },
  [TYPES.PARTICIPANT_JOINED](state, data) {
    state.presence = data.presence;
    if (state.participants) upsert(state.participants, data.participant);
  },
  [TYPES.PARTICIPANT_UPDATED](state, data) {
    state.presence = data.presence;
    if (state.participants) upsert(state.participants, data.participant);
    // Phones see only id and sector of others; their own full record comes in the ack.
    if (state.me && state.me.id === data.participant.id) Object.assign(state.me, data.participant);
  },
  [TYPES.PARTICIPANT_REMOVED](state, data) {
    state.presence = data.presence;
    if (state.participants) {
      state.participants = state.participants.filter((p) => p.id !== data.participant_id);
    }
    if (state.me && state.me.id === data.participant_id) state.removed = true;
  },
  [TYPES.WORKSHOP_CLOSED](state, data) {
    state.workshop.status = data.status;
  },
  [TYPES.WORKSHOP_DISPLAY](state, data) {
    state.workshop.display = data.display;
  },
  [TYPES.WORKSHOP_LANGUAGE](state, data) {
    state.workshop.language = data.language;
  },
  [TYPES.WORKSHOP_REOPENED](state, data) {
    state.workshop.status = data.status;
    state.workshop.code = data.code;
  },
  [TYPES.WORKSHOP_STARTED](state, data) {
    state.workshop.status = data.status;
  },
  // The whole programme, after the facilitator reshaped it.
  [TYPES.STAGES_CHANGED](state, data) {
    const stale = partsStale(state, data.stages);
    state.stages = data.stages;
    state.current_stage_id = data.current_stage_id;
    state.workshop.display = Object.assign({}, state.workshop.display, { starts_at: data.starts_at });
    return stale ? STALE : undefined;
  },
  ...boardReducers,
  ...stakeholderReducers,
  ...pollReducers,
  ...agendaReducers,
  ...planReducers,
  ...organisationReducers,
};

// Transients that update the state (running counts, derived views); the rest go
// to the screen's onTransient.
const transientReducers = {
  [TYPES.POLL_COUNT]: applyCount,
  [TYPES.AGENDA_COUNT]: applyAgendaCount,
  ...planTransients,
};

function upsert(list, item) {
  const i = list.findIndex((x) => x.id === item.id);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

export function currentStage(state) {
  return state.stages.find((s) => s.id === state.current_stage_id) || null;
}

export class Live {
  constructor({ workshopId, screen, key, render, onStatus, onTransient }) {
    this.state = null;
    this.pending = []; // events that arrived before the state they follow
    this.syncing = false;
    this.render = render;
    this.onStatus = onStatus || (() => {});
    this.socket = io({
      auth: { workshop_id: workshopId, screen, key: key || undefined },
      transports: ["websocket", "polling"],
      reconnectionDelayMax: 4000,
    });
    this.socket.on("connect", () => this.onStatus(t("live")));
    this.socket.on("disconnect", (reason) => {
      // "io server disconnect": the server closed it on purpose (e.g. removal); no retry.
      this.onStatus(reason === "io server disconnect" ? t("disconnected") : t("reconnecting…"));
    });
    this.socket.on("connect_error", (err) => {
      const message = (err && err.data && err.data.message) || t("cannot reach the server");
      this.onStatus(message);
      if (err && err.data && (err.data.code === "forbidden" || err.data.code === "unauthenticated")) {
        this.socket.disconnect();
        this.onStatus(message, true);
      }
    });
    this.socket.on(SNAPSHOT, (snapshot) => this.setSnapshot(snapshot));
    this.socket.on(EVENT, (event) => this.receive(event));
    // Passing updates (a note being dragged): no seq, applied only to what is drawn.
    this.socket.on(TRANSIENT, (transient) => {
      if (!this.state) return;
      const reduce = transientReducers[transient.type];
      if (reduce) {
        reduce(this.state, transient.data);
        this.render(this.state, transient);
      } else if (onTransient) {
        onTransient(transient);
      }
    });
  }

  setSnapshot(snapshot) {
    this.state = snapshot;
    const later = this.pending.filter((e) => e.seq > snapshot.seq);
    this.pending = [];
    later.sort((a, b) => a.seq - b.seq).forEach((e) => this.receive(e, true));
    if (!this.followLanguage()) this.render(this.state);
  }

  // A page that shows the workshop's language (the projector; a phone whose owner chose
  // none) loads itself again in the new one when the facilitator changes it.
  followLanguage() {
    const follows = document.documentElement.hasAttribute("data-follows-workshop-language");
    const wanted = this.state && this.state.workshop.language;
    if (!follows || !wanted || wanted === LANG) return false;
    window.location.reload();
    return true;
  }

  receive(event, quiet) {
    if (!this.state || this.syncing) {
      this.pending.push(event);
      return;
    }
    if (event.seq <= this.state.seq) return; // already applied
    if (event.seq > this.state.seq + 1) {
      this.pending.push(event);
      this.resync();
      return;
    }
    this.apply(event);
    if (event.type === TYPES.WORKSHOP_LANGUAGE && this.followLanguage()) return;
    if (!quiet) this.render(this.state, event);
  }

  apply(event) {
    const reduce = reducers[event.type];
    const outcome = reduce ? reduce(this.state, event.data) : undefined;
    this.state.seq = event.seq;
    if (outcome === STALE) this.reload();
  }

  // A fresh snapshot, for a change its event cannot carry (a new board's settings).
  async reload() {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const ack = await this.request(ACTIONS.SYNC_REQUEST, {});
      this.syncing = false;
      this.setSnapshot(ack.snapshot);
    } catch (err) {
      this.syncing = false;
      setTimeout(() => this.reload(), 1000);
    }
  }

  // Catch up from the server: the missed events, or a snapshot when far behind.
  async resync() {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const ack = await this.request(ACTIONS.SYNC_REQUEST, { since: this.state ? this.state.seq : null });
      this.syncing = false;
      if (ack.snapshot) {
        this.setSnapshot(ack.snapshot);
        return;
      }
      const queued = this.pending;
      this.pending = [];
      for (const event of ack.events.concat(queued).sort((a, b) => a.seq - b.seq)) {
        this.receive(event, true);
      }
      this.render(this.state);
    } catch (err) {
      this.syncing = false;
      setTimeout(() => this.resync(), 1000);
    }
  }

  // A read-only request: no action id.
  request(name, data) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(ACK_TIMEOUT_MS).emit(name, data || {}, (err, ack) => {
        if (err) reject(err);
        else if (ack && ack.ok) resolve(ack);
        else reject(ack ? ack.error : { code: "internal", message: t("No answer") });
      });
    });
  }

  // A change: carries an action id and is retried with the same id until answered,
  // so a lost ack never makes it happen twice.
  send(name, data) {
    const payload = Object.assign({}, data || {}, { action_id: newActionId() });
    return new Promise((resolve, reject) => {
      let tries = 0;
      const attempt = () => {
        tries += 1;
        this.socket.timeout(ACK_TIMEOUT_MS).emit(name, payload, (err, ack) => {
          if (err) {
            if (tries < MAX_TRIES) attempt();
            else reject({ code: "timeout", message: t("The server did not answer; check the Wi-Fi.") });
          } else if (ack && ack.ok) resolve(ack);
          else reject((ack && ack.error) || { code: "internal", message: t("No answer from the server") });
        });
      };
      attempt();
    });
  }
}

// Send an action; a refusal shows in root's error line, and resolves to undefined.
export function sendAction(live, root, name, data) {
  showError(root, null);
  return live.send(name, data).catch((error) => showError(root, error));
}

// A render hook that announces the current stage each time it changes (the
// first render only shows it: the page itself says where it is).
export function stageAnnouncer() {
  let shown;
  return (state) => {
    const stage = currentStage(state);
    const id = stage ? stage.id : null;
    if (shown !== undefined && id !== shown && stage) {
      announce(t("Now stage {n} of {total}: {title}.",
        { n: state.stages.indexOf(stage) + 1, total: state.stages.length, title: tk(stage.title) }));
    }
    shown = id;
  };
}
