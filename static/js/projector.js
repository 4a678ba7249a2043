// The projector: join code and QR, the current stage, who is in the room.
import { boardOfStage } from "./board.js";
import { ProjectorBoard } from "./board_ui.js";
import { Live, bind, currentStage, h } from "./live.js";

const root = document.getElementById("projector");
let projectorBoard = null;
let boardStageId = null;

function render(state) {
  const stage = currentStage(state);
  const index = stage ? state.stages.indexOf(stage) : -1;
  bind(root, "stage-count").textContent = stage ? `Stage ${index + 1} of ${state.stages.length}` : "";
  bind(root, "stage-title").textContent = stage ? stage.title : state.workshop.title;
  bind(root, "stage-prompt").textContent = stage ? stage.prompt : "";
  bind(root, "code").textContent = state.workshop.status === "closed" ? "closed" : state.workshop.code;
  bind(root, "count").textContent = String(state.presence.total);
  const orgs = state.presence.organisations;
  bind(root, "organisations").textContent = `${orgs} organisation${orgs === 1 ? "" : "s"}`;
  bind(root, "sectors").replaceChildren(
    ...state.presence.by_sector.map((row) =>
      h("li", { "data-sector": row.sector },
        h("span", { class: "sector-name" }, row.sector),
        h("span", { class: "sector-count" }, String(row.count)))),
  );
  root.classList.toggle("compact-join", Boolean(stage) && stage.type !== "welcome");
  const board = boardOfStage(state, stage);
  root.classList.toggle("showing-board", Boolean(board));
  if (!board) {
    if (projectorBoard) bind(root, "stage-body").replaceChildren();
    projectorBoard = null;
    boardStageId = null;
  } else if (boardStageId !== stage.id) {
    projectorBoard = new ProjectorBoard(live);
    boardStageId = stage.id;
    projectorBoard.mount(bind(root, "stage-body"), state, stage);
  } else {
    projectorBoard.update(state, board);
  }
}

const live = new Live({
  workshopId: Number(root.dataset.workshopId),
  screen: "projector",
  key: root.dataset.key,
  render,
  onStatus: (text) => { bind(root, "connection").textContent = text === "live" ? "" : text; },
  onTransient: (t) => { if (projectorBoard) projectorBoard.view.showDrag(t.data); },
});
window.facilitatorLive = live;
