// Polls on every screen: the console drafts, opens and closes them; phones vote
// with the method's own controls; the projector shows turnout, then the outcome.
import { ACTIONS } from "/protocol.js";
import { announce, h, sendAction, showError } from "./live.js";

const METHODS = [
  ["consensus", "Consensus: agree / abstain / disagree / block"],
  ["gradients", "Gradients of agreement (1–8)"],
  ["fist", "Fist of five (0–5)"],
  ["consent", "Consent / reasoned objection"],
  ["yes_no", "Yes / no / abstain"],
  ["dots", "Dot vote across options"],
  ["ranked", "Ranked choice"],
  ["scale", "Scale 1–N"],
];

// How results are broken down (a poll's and a recorded outcome's `group_by`).
const GROUP_BY = [
  ["sector", "By sector"],
  ["organisation", "By organisation"],
  ["none", "No breakdown"],
];

function groupLabel(groupBy) {
  return (GROUP_BY.find(([v]) => v === (groupBy || "sector")) || GROUP_BY[0])[1];
}

function stagePolls(state, stage) {
  return (state.polls || []).filter((e) => e.poll.stage_id === stage.id);
}

function lastRound(e) { return e.rounds[e.rounds.length - 1] || null; }

function optionLabel(poll, index) { return (poll.config.options || [])[index] || `Option ${Number(index) + 1}`; }

function decisionText(outcome) {
  return outcome.decided === true ? "Agreed" : outcome.decided === false ? "Not agreed" : "No decision";
}

// Says when a poll of the stage opens and, when it closes, its result (what the
// screen shows when it first draws the stage is not news).
function pollAnnouncer() {
  const seen = new Map();
  let drawn = false;
  return (entries) => {
    const first = !drawn;
    drawn = true;
    for (const e of entries) {
      const before = seen.get(e.poll.id);
      const round = lastRound(e);
      const now = `${e.poll.status}:${e.poll.round}`;
      seen.set(e.poll.id, now);
      if (first || before === now) continue;
      if (e.poll.status === "open") announce(`Voting is open: ${e.poll.title}.`);
      else if (e.poll.status === "closed" && round && round.outcome) {
        announce(`Result of ${e.poll.title}: ${decisionText(round.outcome)}. ${round.outcome.explanation || ""}`);
      }
    }
  };
}

function decisionBadge(outcome) {
  const [text, cls] = outcome.decided === true ? ["Agreed", "yes"] : outcome.decided === false ? ["Not agreed", "no"] : ["No decision", "none"];
  return h("span", { class: `decision decision-${cls}`, "data-decision": cls }, text);
}

// Bars of a tally: counts (fixed choices), totals (dots) or points (ranked).
function tallyBars(poll, t) {
  let rows = [];
  if (t.counts) {
    const labels = Object.fromEntries((poll.choices || []).map(([v, l]) => [String(v), l]));
    rows = Object.entries(t.counts).map(([k, v]) => [labels[k] ? `${k} · ${labels[k]}` : k, v]);
  } else if (t.totals) {
    rows = t.totals.map((v, i) => [optionLabel(poll, i), v]);
  } else if (t.points) {
    rows = t.points.map((v, i) => [optionLabel(poll, i), v]);
  }
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h("ul", { class: "tally" }, ...rows.map(([label, value]) => h("li", {},
    h("span", { class: "tally-label" }, label),
    h("span", { class: "tally-bar", style: `width:${(value / max) * 100}%` }),
    h("span", { class: "tally-value" }, String(value)))));
}

// One group's line: voters, the median of a scale, and the count of each choice.
function groupLine(name, t) {
  const parts = [];
  if (t.median !== undefined && t.median !== null) parts.push(`median ${t.median}`);
  if (t.counts) parts.push(Object.entries(t.counts).filter(([, v]) => v).map(([k, v]) => `${k}×${v}`).join(", "));
  return h("li", { "data-group": name }, `${name} (${t.voters}): ${parts.join(" · ")}`);
}

function outcomeView(poll, round) {
  const o = round.outcome;
  const groups = Object.entries(o.by_group || {});
  return h("div", { class: "outcome", "data-outcome": poll.id },
    h("p", {}, decisionBadge(o), " ", o.explanation),
    h("p", { class: "muted small" }, `Round ${round.number} · ${o.turnout} of ${o.present} voted · ${round.anonymous ? "anonymous" : "named"}`),
    tallyBars(poll, o.tally),
    groups.length > 1 ? h("details", { "data-group-by": o.group_by || "sector" }, h("summary", {}, groupLabel(o.group_by)),
      h("ul", { class: "small" }, ...groups.map(([g, t]) => groupLine(g, t))))
      : null,
    o.reasons && o.reasons.length ? h("details", { open: true }, h("summary", {}, "Reasons and dissent"),
      h("ul", { class: "small" }, ...o.reasons.map((r) => h("li", {}, `${r.name ? `${r.name}: ` : ""}[${r.choice}] ${r.reason}`)))) : null);
}

// -- projector --------------------------------------------------------------------------------

export class ProjectorPolls {
  mount(body, state, stage) {
    this.body = body;
    this.said = pollAnnouncer();
    this.update(state, stage);
  }

  update(state, stage) {
    const entries = stagePolls(state, stage).filter((e) => e.poll.status !== "draft");
    this.said(entries);
    const shown = entries.find((e) => e.poll.status === "open") || entries[entries.length - 1];
    if (!shown) {
      this.body.replaceChildren(h("p", { class: "muted" }, "The proposal will appear here."));
      return;
    }
    const { poll } = shown;
    const round = lastRound(shown);
    const parts = [h("h2", { class: "poll-title" }, poll.title), poll.proposal ? h("p", { class: "proposal" }, poll.proposal) : null];
    if (poll.status === "open") {
      const count = shown.count || { turnout: 0 };
      parts.push(h("p", { class: "turnout", "data-turnout": count.turnout },
        h("strong", {}, String(count.turnout)), ` of ${state.presence.total} have voted · ${round.anonymous ? "anonymous" : "named"} · ${poll.method_label}`));
      if (count.tally) parts.push(tallyBars(poll, count.tally));
    } else if (round && round.outcome) {
      parts.push(outcomeView(poll, round));
    }
    // Scrolls when a long result does not fit: a region the keyboard can reach.
    this.body.replaceChildren(h("div", { class: "poll-view", tabindex: 0, role: "region", "aria-label": poll.title }, ...parts));
  }
}

// -- phone --------------------------------------------------------------------------------------

export class PhonePolls {
  constructor(root, live) { this.root = root; this.live = live; this.key = null; this.said = pollAnnouncer(); }

  mount(body, state, stage) {
    this.body = body;
    this.stage = stage;
    this.update(state, stage);
  }

  update(state, stage) {
    const entries = stagePolls(state, stage).filter((e) => e.poll.status !== "draft");
    this.said(entries);
    // Rebuild only when a poll opens, closes or my ballot changes; never under a thumb.
    const key = JSON.stringify(entries.map((e) => [e.poll.id, e.poll.status, e.poll.round, e.my_ballot]));
    if (key === this.key) return;
    this.key = key;
    if (!entries.length) {
      this.body.replaceChildren(h("p", { class: "notice" }, "The facilitator will open the vote here."));
      return;
    }
    this.body.replaceChildren(...entries.map((e) => (e.poll.status === "open" ? this.ballot(e) : this.closed(e))));
  }

  closed(e) {
    const round = lastRound(e);
    return h("section", { class: "poll-card" }, h("h2", {}, e.poll.title),
      round && round.outcome ? outcomeView(e.poll, round) : null);
  }

  ballot(e) {
    const { poll } = e;
    const round = lastRound(e);
    const reason = h("textarea", { rows: 2, maxlength: 500, placeholder: "Reason (needed for a block, veto or objection)",
      "aria-label": "Your reason (needed for a block, veto or objection)" });
    if (e.my_ballot) reason.value = e.my_ballot.reason || "";
    let picked = e.my_ballot ? e.my_ballot.choice : null;
    const controls = this.controls(poll, picked, (choice) => { picked = choice; });
    controls.setAttribute("aria-label", `Your choice on ${poll.title}`);
    const send = h("button", { type: "button", "data-vote": poll.id }, e.my_ballot ? "Change my vote" : "Vote");
    const status = h("p", { class: "small muted", "data-bind": "my-vote" },
      e.my_ballot ? "Your vote is counted; you can change it until the poll closes." : "");
    send.addEventListener("click", () => {
      showError(this.root, null);
      const choice = typeof picked === "function" ? picked() : picked;
      if (choice === null || choice === undefined) { showError(this.root, { message: "Choose first." }); return; }
      this.live.send(ACTIONS.POLL_VOTE, { poll_id: poll.id, choice, reason: reason.value })
        .then((ack) => {
          // A reconnect while the vote was retried replaced the state with a snapshot
          // (taken before the vote counted): record the ballot on the poll as it is now.
          const now = stagePolls(this.live.state, this.stage).find((x) => x.poll.id === poll.id);
          if (now && now.poll.round === ack.round) now.my_ballot = { choice: ack.choice, reason: ack.reason };
          this.key = null;
          this.update(this.live.state, this.stage);
          announce("Your vote is counted; you can change it until the poll closes.");
        })
        .catch((error) => showError(this.root, error));
    });
    return h("section", { class: "poll-card", "data-poll": poll.id },
      h("h2", {}, poll.title), poll.proposal ? h("p", { class: "proposal" }, poll.proposal) : null,
      h("p", { class: "badge" }, round.anonymous ? "Anonymous: nobody sees your choice" : "Named: your choice is on record"),
      controls, reason, send, status);
  }

  // The method's controls; onPick receives the choice (or a function returning it).
  controls(poll, current, onPick) {
    if (poll.choices && poll.choices.length) {
      const group = h("div", { class: "choices", role: "radiogroup" });
      for (const [value, label] of poll.choices) {
        const id = `c-${poll.id}-${value}`;
        const input = h("input", { type: "radio", name: `poll-${poll.id}`, id, value: String(value), checked: current === value });
        input.addEventListener("change", () => onPick(value));
        const text = typeof value === "number" && poll.method !== "scale" ? `${value} · ${label}` : label;
        group.append(h("label", { for: id, class: "choice" }, input, h("span", {}, text)));
      }
      return group;
    }
    const options = poll.config.options || [];
    if (poll.method === "dots") {
      const dots = poll.config.dots || 3;
      const counts = options.map((_, i) => (current && current[String(i)]) || 0);
      const left = h("span", { class: "small muted", role: "status" });
      const refresh = () => { left.textContent = `${dots - counts.reduce((a, b) => a + b, 0)} of ${dots} dots left`; };
      const rows = options.map((label, i) => {
        const value = h("strong", {}, String(counts[i]));
        const change = (d) => {
          const used = counts.reduce((a, b) => a + b, 0);
          if (d > 0 && (used >= dots || (!poll.config.stacking && counts[i] >= 1))) return;
          counts[i] = Math.max(0, counts[i] + d);
          value.textContent = String(counts[i]);
          refresh();
        };
        return h("div", { class: "row dot-row" }, h("span", { class: "dot-label" }, label),
          h("button", { type: "button", class: "secondary small", "aria-label": `Take a dot off ${label}`, onclick: () => change(-1) }, "−"), value,
          h("button", { type: "button", class: "secondary small", "aria-label": `Add a dot to ${label}`, onclick: () => change(1), "data-dot": i }, "+"));
      });
      refresh();
      onPick(() => Object.fromEntries(counts.map((c, i) => [String(i), c]).filter(([, c]) => c > 0)));
      return h("div", { class: "stack", role: "group" }, left, ...rows);
    }
    // ranked: move options up and down, best first
    let order = current && current.length ? current.slice() : options.map((_, i) => i);
    const list = h("ol", { class: "ranking" });
    const draw = () => {
      list.replaceChildren(...order.map((opt, pos) => h("li", {}, h("span", {}, options[opt]),
        h("button", { type: "button", class: "secondary small", "aria-label": `Move ${options[opt]} up`, disabled: pos === 0, onclick: () => { [order[pos - 1], order[pos]] = [order[pos], order[pos - 1]]; draw(); } }, "↑"),
        h("button", { type: "button", class: "secondary small", "aria-label": `Move ${options[opt]} down`, disabled: pos === order.length - 1, onclick: () => { [order[pos + 1], order[pos]] = [order[pos], order[pos + 1]]; draw(); } }, "↓"))));
    };
    draw();
    onPick(() => order.slice());
    return list;
  }
}

// -- console ---------------------------------------------------------------------------------------

export class ConsolePolls {
  constructor(root, live) { this.root = root; this.live = live; }

  mount(body, state, stage) {
    this.stage = stage;
    const title = h("input", { placeholder: "Proposal title", "aria-label": "Proposal title", maxlength: 200, "data-control": "poll-title" });
    const proposal = h("textarea", { rows: 2, maxlength: 2000, placeholder: "The proposal, as the room should read it", "aria-label": "The proposal" });
    const method = h("select", { "data-control": "poll-method", "aria-label": "Voting method" }, ...METHODS.map(([v, l]) => h("option", { value: v, selected: v === (stage.config || {}).method }, l)));
    const options = h("textarea", { rows: 3, placeholder: "Options, one per line (dot vote, ranked choice)", "aria-label": "Options, one per line" });
    const anonymous = h("input", { type: "checkbox", checked: (stage.config || {}).anonymous !== false });
    const live = h("input", { type: "checkbox" });
    const groupBy = h("select", { "data-control": "poll-group-by", "aria-label": "Results by group" },
      ...GROUP_BY.map(([v, l]) => h("option", { value: v, selected: v === ((stage.config || {}).group_by || "sector") }, l)));
    const create = h("button", { type: "button", "data-action": "create-poll" }, "Create poll");
    create.addEventListener("click", () => {
      const opts = options.value.split("\n").map((o) => o.trim()).filter(Boolean);
      sendAction(this.live, this.root, ACTIONS.POLL_CREATE, { title: title.value, proposal: proposal.value, method: method.value,
        options: opts, anonymous: anonymous.checked, results: live.checked ? "live" : "on_close", group_by: groupBy.value })
        .then((ack) => { if (ack) { title.value = ""; proposal.value = ""; options.value = ""; } });
    });
    this.list = h("div", { class: "poll-list" });
    body.replaceChildren(
      h("div", { class: "stack poll-form" }, title, proposal, method, options,
        h("label", { class: "inline" }, anonymous, " Anonymous (fixed when the poll opens)"),
        h("label", { class: "inline" }, live, " Show results live (otherwise on close)"),
        h("label", { class: "inline" }, "Breakdown ", groupBy), create),
      this.list);
    this.update(state, stage);
  }

  update(state, stage) {
    const entries = stagePolls(state, stage);
    this.list.replaceChildren(...entries.slice().reverse().map((e) => {
      const { poll } = e;
      const round = lastRound(e);
      const buttons = [];
      if (poll.status !== "open") buttons.push(h("button", { type: "button", class: "small", "data-open": poll.id, onclick: () => sendAction(this.live, this.root, ACTIONS.POLL_OPEN, { poll_id: poll.id }) }, poll.round ? `Open round ${poll.round + 1}` : "Open"));
      if (poll.status === "open") buttons.push(h("button", { type: "button", class: "small", "data-close": poll.id, onclick: () => sendAction(this.live, this.root, ACTIONS.POLL_CLOSE, { poll_id: poll.id }) }, "Close and count"));
      if (poll.status !== "open") {
        buttons.push(h("button", { type: "button", class: "small secondary", onclick: () => {
          const text = window.prompt("Amend the proposal before the next round:", poll.proposal);
          if (text !== null) sendAction(this.live, this.root, ACTIONS.POLL_AMEND, { poll_id: poll.id, proposal: text });
        } }, "Amend"));
      }
      return h("section", { class: "poll-card", "data-poll": poll.id },
        h("strong", {}, poll.title), h("span", { class: "muted small" }, ` · ${poll.method_label} · ${poll.status}${poll.round ? ` · round ${poll.round}` : ""} · ${poll.anonymous ? "anonymous" : "named"}${poll.group_by && poll.group_by !== "sector" ? ` · ${groupLabel(poll.group_by).toLowerCase()}` : ""}`),
        poll.status === "open" ? h("p", { class: "small" }, `${(e.count || { turnout: 0 }).turnout} of ${state.presence.total} have voted`) : null,
        poll.status === "open" && e.count && e.count.tally ? tallyBars(poll, e.count.tally) : null,
        poll.status === "closed" && round && round.outcome ? outcomeView(poll, round) : null,
        h("div", { class: "row" }, ...buttons));
    }));
  }
}
