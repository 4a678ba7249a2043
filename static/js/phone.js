// The participant's phone: the current stage, and what they can do in it.
import { ACTIONS } from "/protocol.js";
import { announce, bind, h, showError, showStageText, withNodes } from "./dom.js";
import { boardOfStage } from "./board.js";
import { PhoneBoard } from "./board_ui.js";
import { Live, currentStage, stageAnnouncer } from "./live.js";
import { t } from "./i18n.js";
import { PhoneAgenda } from "./agenda.js";
import { PhonePolls } from "./polls.js";
import { PhoneMap } from "./stakeholders.js";
import { PhonePlan } from "./plan.js";
import { PhoneDownloads, PhoneSignoff } from "./signoff.js";

const root = document.getElementById("phone");
let shownView = null;
let phoneBoard = null;
let tool = null; // the current stage's view, other than a board
const announceStage = stageAnnouncer();
let closedSaid = false;
// The phone's view for each interactive stage type (boards are found by boardOfStage).
const VIEWS = {
  agenda: () => new PhoneAgenda(root, live),
  vote: () => new PhonePolls(root, live),
  stakeholder_map: () => new PhoneMap(root, live),
  action_plan: () => new PhonePlan(root, live),
  signoff: () => new PhoneSignoff(root, live),
  close: () => new PhoneDownloads(),
};

function render(state) {
  if (state.removed) {
    bind(root, "stage-title").textContent = t("You were removed from this workshop");
    bind(root, "stage-prompt").textContent = t("Ask the facilitator if this is a mistake.");
    bind(root, "stage-body").replaceChildren();
    live.socket.disconnect();
    return;
  }
  const stage = currentStage(state);
  const index = stage ? state.stages.indexOf(stage) : -1;
  announceStage(state);
  if ((state.workshop.status === "closed") !== closedSaid) {
    closedSaid = !closedSaid;
    if (closedSaid) announce(t("This workshop is closed."));
  }
  // Names, titles and prompts may be typed in any language: each finds its own direction.
  const me = bind(document, "me");
  me.dir = "auto";
  me.textContent = `${state.me.name} · ${state.me.organisation}`;
  bind(root, "stage-count").textContent = stage
    ? t("Stage {n} of {total}", { n: index + 1, total: state.stages.length }) : "";
  showStageText(root, stage, state.workshop.title);
  const body = bind(root, "stage-body");
  // Rebuild the stage's controls only when the stage changes, never under a typing thumb.
  const view = `${stage && stage.id}|${state.workshop.status}|${JSON.stringify(state.me)}`;
  const others = bind(root, "others");
  if (others) others.textContent = String(state.presence.total - 1);
  const board = boardOfStage(state, stage);
  if (view === shownView) {
    if (board && phoneBoard) phoneBoard.update(state, board);
    if (tool) tool.update(state, stage);
    return;
  }
  shownView = view;
  phoneBoard = null;
  tool = null;
  if (state.workshop.status === "closed") {
    // The signed plan stays downloadable after the close.
    const downloads = h("div");
    body.replaceChildren(h("p", { class: "notice" }, t("This workshop is closed. Thank you!")), downloads);
    tool = new PhoneDownloads();
    tool.mount(downloads, state);
  } else if (board) {
    phoneBoard = new PhoneBoard(root, live);
    phoneBoard.mount(body, state, stage);
  } else if (stage && VIEWS[stage.type]) {
    tool = VIEWS[stage.type]();
    tool.mount(body, state, stage);
  } else if (stage && stage.type === "welcome") {
    body.replaceChildren(welcome(state));
  } else {
    body.replaceChildren(h("p", { class: "notice" }, t("Follow this stage on the main screen.")));
  }
}

function welcome(state) {
  const me = state.me;
  const form = h("form", { class: "stack", "data-form": "profile" },
    h("p", { class: "notice" }, ...withNodes(t("You are in, with {others} others."),
      { others: h("span", { "data-bind": "others" }, String(state.presence.total - 1)) })),
    h("label", { for: "p-name" }, t("Name")),
    h("input", { id: "p-name", name: "name", value: me.name, maxlength: 60, required: true, dir: "auto" }),
    h("label", { for: "p-org" }, t("Organisation")),
    h("input", { id: "p-org", name: "organisation", value: me.organisation, maxlength: 80, required: true, dir: "auto", list: "p-org-names" }),
    // The workshop's organisations by any of their names, offered as the phone types.
    h("datalist", { id: "p-org-names" }, ...(state.organisations || [])
      .flatMap((o) => [o.name, o.short_name, ...(o.other_names || [])]).filter(Boolean)
      .map((name) => h("option", { value: name }))),
    h("label", { for: "p-sector" }, t("Sector")),
    h("input", { id: "p-sector", name: "sector", value: me.sector, maxlength: 60, required: true, dir: "auto" }),
    h("button", { type: "submit", class: "secondary" }, t("Save my details")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    showError(root, null);
    const data = Object.fromEntries(new FormData(form).entries());
    live
      .send(ACTIONS.PARTICIPANT_UPDATE, data)
      .then((ack) => {
        live.state.me = ack.participant;
        render(live.state);
      })
      .catch((error) => showError(root, error));
  });
  return form;
}

const live = new Live({
  workshopId: Number(root.dataset.workshopId),
  screen: "phone",
  render,
  onStatus: (text) => { bind(document, "connection").textContent = text; },
  onTransient: (transient) => { if (phoneBoard) phoneBoard.view.showDrag(transient.data); },
});
window.facilitatorLive = live;
