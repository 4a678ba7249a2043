// The projector: join code and QR, the current stage, who is in the room.
import { bind, h, showStageText } from "./dom.js";
import { boardOfStage } from "./board.js";
import { ProjectorBoard } from "./board_ui.js";
import { Live, currentStage, stageAnnouncer } from "./live.js";
import { ProjectorAgenda } from "./agenda.js";
import { ProjectorPolls } from "./polls.js";
import { ProjectorMap } from "./stakeholders.js";
import { ProjectorPlan } from "./plan.js";
import { ProjectorSignoff } from "./signoff.js";
import { voiceTable, watchVoice } from "./voice.js";
import { t, tn, tk } from "./i18n.js";

const root = document.getElementById("projector");
let projectorBoard = null;
let tool = null; // the current stage's view: {stageId, view}
const announceStage = stageAnnouncer();
// The projector's view for each interactive stage type (boards are found by boardOfStage).
const VIEWS = {
  stakeholder_map: () => new ProjectorMap(live),
  vote: () => new ProjectorPolls(),
  agenda: () => new ProjectorAgenda(),
  action_plan: () => new ProjectorPlan(),
  signoff: () => new ProjectorSignoff(new URL(root.dataset.joinUrl).origin),
};

function render(state) {
  const stage = currentStage(state);
  const index = stage ? state.stages.indexOf(stage) : -1;
  announceStage(state);
  bind(root, "stage-count").textContent = stage
    ? t("Stage {n} of {total}", { n: index + 1, total: state.stages.length })
    : "";
  showStageText(root, stage, state.workshop.title);
  bind(root, "code").textContent = state.workshop.status === "closed" ? t("closed") : state.workshop.code;
  bind(root, "count").textContent = String(state.presence.total);
  const orgs = state.presence.organisations;
  bind(root, "organisations").textContent = tn("{n} organisation", "{n} organisations", orgs);
  bind(root, "sectors").replaceChildren(
    ...state.presence.by_sector.map((row) =>
      h("li", { "data-sector": row.sector },
        h("span", { class: "sector-name", dir: "auto" }, tk(row.sector)),
        h("span", { class: "sector-count" }, String(row.count)))),
  );
  root.classList.toggle("compact-join", Boolean(stage) && stage.type !== "welcome");
  root.dataset.stageType = stage ? stage.type : "";
  const board = boardOfStage(state, stage);
  const makeView = stage && VIEWS[stage.type];
  root.classList.toggle("showing-board", Boolean(board || makeView));
  if (!board && !makeView) {
    if (tool) bind(root, "stage-body").replaceChildren();
    tool = null;
    projectorBoard = null;
  } else if (!tool || tool.stageId !== stage.id) {
    const view = board ? new ProjectorBoard(live) : makeView();
    tool = { stageId: stage.id, view };
    projectorBoard = board ? view : null;
    view.mount(bind(root, "stage-body"), state, stage);
  } else if (board) {
    tool.view.update(state, board);
  } else {
    tool.view.update(state, stage);
  }
}

const live = new Live({
  workshopId: Number(root.dataset.workshopId),
  screen: "projector",
  key: root.dataset.key,
  render,
  onStatus: (text) => { bind(root, "connection").textContent = text === "live" || text === t("live") ? "" : text; },
  onTransient: (transient) => { if (projectorBoard) projectorBoard.view.showDrag(transient.data); },
});
window.facilitatorLive = live;

const voicePanel = h("section", { class: "voice-overlay", hidden: true, "data-bind": "voice-overlay" });
root.append(voicePanel);
const voiceOn = () => Boolean(live.state && live.state.workshop.display && live.state.workshop.display.share_of_voice);
watchVoice(live, voiceOn, (voice) => {
  voicePanel.replaceChildren(h("h2", {}, t("Share of voice")), voiceTable(voice));
}, 3000);
setInterval(() => { voicePanel.hidden = !voiceOn(); }, 500);
