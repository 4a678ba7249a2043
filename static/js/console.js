// The facilitator's console: stage controls, the programme, participants, join code.
import { ACTIONS } from "/protocol.js";
import { bind, busy, h, showError, typed } from "./dom.js";
import { boardOfStage } from "./board.js";
import { ConsoleBoard } from "./board_ui.js";
import { Live, currentStage, sendAction, stageAnnouncer } from "./live.js";
import { ConsoleAgenda } from "./agenda.js";
import { ConsolePolls } from "./polls.js";
import { ConsoleMap } from "./stakeholders.js";
import { ConsolePlan } from "./plan.js";
import { ConsoleSignoff } from "./signoff.js";
import { ConsoleOrganisations } from "./organisations.js";
import { ConsoleProgramme } from "./design.js";
import { voiceTable, watchVoice } from "./voice.js";
import { t, tn, tk } from "./i18n.js";

const root = document.getElementById("console");
const draftBanner = bind(document, "draft-banner");
let consoleBoard = null;
let tool = null; // the current stage's tool: {stageId, view}
const announceStage = stageAnnouncer();
// The console's tool for each interactive stage type (boards are found by boardOfStage).
// What the console calls each stage type and each state of the workshop.
const TYPE_NAMES = {
  welcome: t("welcome"),
  board: t("board"),
  stakeholder_map: t("stakeholder map"),
  agenda: t("agenda"),
  vote: t("vote"),
  action_plan: t("action plan"),
  signoff: t("signoff"),
  close: t("close"),
};
const STATUS_NAMES = { draft: t("draft"), live: t("live"), closed: t("closed") };
const TOOLS = {
  stakeholder_map: ConsoleMap,
  vote: ConsolePolls,
  agenda: ConsoleAgenda,
  action_plan: ConsolePlan,
  signoff: ConsoleSignoff,
};

function render(state) {
  const stage = currentStage(state);
  announceStage(state);
  const language = bind(root, "workshop-language");
  if (language && document.activeElement !== language) language.value = state.workshop.language;
  bind(root, "stages").replaceChildren(
    ...state.stages.map((s, i) =>
      h("li", { class: s.id === state.current_stage_id ? "current" : "", "aria-current": s.id === state.current_stage_id ? "step" : null },
        h("button", {
          type: "button", class: "link", "data-stage-id": s.id,
          onclick: () => act(ACTIONS.STAGE_GOTO, { stage_id: s.id }),
        }, `${i + 1}. ${tk(s.title)}`),
        h("span", { class: "muted small" },
          ` ${TYPE_NAMES[s.type] || s.type.replace("_", " ")} · ${t("{n} min", { n: s.minutes })}`)),
    ),
  );
  root.querySelector('[data-action="prev"]').disabled = !stage || state.stages[0].id === stage.id;
  root.querySelector('[data-action="next"]').disabled =
    !stage || state.stages[state.stages.length - 1].id === stage.id;
  bind(root, "code").textContent = state.workshop.code;
  bind(root, "status").textContent = STATUS_NAMES[state.workshop.status] || state.workshop.status;
  bind(root, "count").textContent = String(state.presence.total);
  const organisations = tn("{n} organisation", "{n} organisations", state.presence.organisations);
  const sectors = tn("{n} sector", "{n} sectors", state.presence.by_sector.length);
  bind(root, "summary").textContent = `${organisations} · ${sectors}`;
  renderParticipants(state.participants || []);
  organisationsPanel.update(state);
  renderStageTools(state, stage);
  renderDraft(state);
  programme.update(state);
}

// A draft: nobody joins until the facilitator opens it.
function renderDraft(state) {
  const draft = state.workshop.status === "draft";
  draftBanner.hidden = !draft;
  root.classList.toggle("drafting", draft);
  bind(root, "join-closed").hidden = !draft;
}

// Each interactive stage type has a tool in the console; built once per stage.
function renderStageTools(state, stage) {
  const panel = bind(root, "stage-tools");
  const board = boardOfStage(state, stage);
  const Tool = stage && TOOLS[stage.type];
  panel.hidden = !board && !Tool;
  if (panel.hidden) {
    tool = null;
    consoleBoard = null;
    return;
  }
  if (!tool || tool.stageId !== stage.id) {
    const view = board ? new ConsoleBoard(root, live) : new Tool(root, live);
    tool = { stageId: stage.id, view };
    consoleBoard = board ? view : null;
    bind(panel, "stage-tools-title").textContent = tk(stage.title);
    view.mount(bind(panel, "stage-tools-body"), state, stage);
  } else if (board) {
    tool.view.update(state, board);
  } else {
    tool.view.update(state, stage);
  }
}

function renderParticipants(participants) {
  const bySector = new Map();
  for (const p of participants) {
    if (!bySector.has(p.sector)) bySector.set(p.sector, new Map());
    const orgs = bySector.get(p.sector);
    if (!orgs.has(p.organisation)) orgs.set(p.organisation, []);
    orgs.get(p.organisation).push(p);
  }
  const sectors = [...bySector.keys()].sort();
  bind(root, "participants").replaceChildren(
    ...sectors.map((sector) =>
      h("div", { class: "sector-group" },
        h("h3", { dir: "auto" }, tk(sector)),
        ...[...bySector.get(sector).entries()].sort().map(([org, people]) =>
          h("div", { class: "org-group" },
            h("p", { class: "org", dir: "auto" }, org),
            h("ul", {}, ...people.map((p) =>
              h("li", { "data-participant-id": p.id },
                typed(p.name),
                h("button", {
                  type: "button", class: "link danger small",
                  onclick: () => {
                    if (window.confirm(t("Remove {name} from the workshop?", { name: p.name }))) {
                      act(ACTIONS.PARTICIPANT_REMOVE, { participant_id: p.id });
                    }
                  },
                }, t("remove")))))))),
    ),
  );
}

function act(name, data) {
  return sendAction(live, root, name, data);
}

const organisationsPanel = new ConsoleOrganisations(bind(root, "organisations"), act);

const live = new Live({
  workshopId: Number(root.dataset.workshopId),
  screen: "console",
  render,
  onStatus: (text) => { bind(document, "connection").textContent = text; },
  onTransient: (transient) => { if (consoleBoard) consoleBoard.view.showDrag(transient.data); },
});

root.querySelector('[data-action="next"]').addEventListener("click", () =>
  act(ACTIONS.STAGE_NEXT, { from_stage_id: live.state && live.state.current_stage_id }));
root.querySelector('[data-action="prev"]').addEventListener("click", () =>
  act(ACTIONS.STAGE_PREV, { from_stage_id: live.state && live.state.current_stage_id }));
root.querySelector('[data-action="close"]').addEventListener("click", () => {
  if (window.confirm(t("Close the workshop? Nobody new can join."))) act(ACTIONS.WORKSHOP_CLOSE, {});
});
root.querySelector('[data-action="reopen"]').addEventListener("click", () =>
  act(ACTIONS.WORKSHOP_REOPEN, {}));
window.facilitatorLive = live;

const programme = new ConsoleProgramme(live);
programme.mount(bind(root, "programme-body"), bind(root, "programme-summary"));
const start = draftBanner.querySelector('[data-action="start"]');
start.addEventListener("click", () => busy(start, sendAction(live, draftBanner, ACTIONS.WORKSHOP_START, {})));

// The workshop's language: the projector's and the PDF's, and the phones' default.
const language = bind(root, "workshop-language");
language.addEventListener("change", () => act(ACTIONS.WORKSHOP_SET_LANGUAGE, { language: language.value }));

const showVoice = root.querySelector('[data-action="show-voice"]');
showVoice.addEventListener("click", () => {
  const on = !(live.state && live.state.workshop.display && live.state.workshop.display.share_of_voice);
  act(ACTIONS.DISPLAY_SET, { share_of_voice: on });
});
watchVoice(live, () => true, (voice) => {
  bind(root, "voice").replaceChildren(voiceTable(voice));
  const on = live.state && live.state.workshop.display && live.state.workshop.display.share_of_voice;
  showVoice.textContent = on ? t("Take off the projector") : t("Show on the projector");
});
