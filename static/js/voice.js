// Share of voice: per organisation, people present against notes, proposals and
// votes. The console shows it; the facilitator can put it on the projector.
import { ACTIONS } from "/protocol.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

const pct = (v) => `${Math.round(v * 100)}%`;

export function voiceTable(voice) {
  return h("table", { class: "voice" },
    h("thead", {}, h("tr", {}, ...[t("Organisation"), t("In the room"), t("Notes"), t("Proposals"), t("Votes"), t("Voice ÷ presence")].map((label) => h("th", {}, label)))),
    h("tbody", {}, ...voice.by_organisation.map((r) => h("tr", { class: r.voice_ratio > 1.5 ? "loud" : r.voice_ratio < 0.5 ? "quiet" : "" },
      h("td", { dir: "auto" }, r.name), h("td", {}, `${r.present} (${pct(r.present_share)})`),
      h("td", {}, `${r.notes} (${pct(r.notes_share)})`), h("td", {}, `${r.proposals} (${pct(r.proposals_share)})`),
      h("td", {}, `${r.votes} (${pct(r.votes_share)})`), h("td", {}, String(r.voice_ratio))))));
}

// Refreshes the share of voice every few seconds while ``active()`` says so.
export function watchVoice(live, active, draw, every = 5000) {
  const tick = () => {
    if (active() && live.socket.connected) live.request(ACTIONS.VOICE_GET, {}).then(draw).catch(() => {});
  };
  tick();
  return setInterval(tick, every);
}
