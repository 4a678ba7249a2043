// Polls on every screen: the console drafts, opens and closes them; phones vote
// with the method's own controls; the projector shows turnout, then the outcome.
import { ACTIONS } from "/protocol.js";
import { announce, h, pageData, showError, typed, withNodes } from "./dom.js";
import { sendAction } from "./live.js";
import { t, tk } from "./i18n.js";

// The voting methods, [id, label] pairs: the server's own list (tally.METHODS), which
// the console page carries in data-poll-methods; none on the other screens.
export function pollMethods() {
  return pageData("poll-methods", []).map((m) => [m.id, tk(m.label)]);
}
// What a new poll's method is unless the stage says otherwise.
const DEFAULT_METHOD = "consensus";

// How results are broken down (a poll's and a recorded outcome's `group_by`).
const GROUP_BY = [
  ["sector", t("By sector")],
  ["organisation", t("By organisation")],
  ["none", t("No breakdown")],
];

function groupLabel(groupBy) {
  return (GROUP_BY.find(([v]) => v === (groupBy || "sector")) || GROUP_BY[0])[1];
}

// A poll's status as people read it (the status itself is a protocol value).
function statusLabel(status) {
  return { draft: t("draft"), open: t("open"), closed: t("closed") }[status] || status;
}

const secrecy = (anonymous) => (anonymous ? t("anonymous") : t("named"));

function stagePolls(state, stage) {
  return (state.polls || []).filter((e) => e.poll.stage_id === stage.id);
}

function lastRound(e) { return e.rounds[e.rounds.length - 1] || null; }

function optionLabel(poll, index) { return (poll.config.options || [])[index] || t("Option {n}", { n: Number(index) + 1 }); }

function decisionText(outcome) {
  return outcome.decided === true ? t("Agreed") : outcome.decided === false ? t("Not agreed") : t("No decision");
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
      if (e.poll.status === "open") announce(t("Voting is open: {title}.", { title: e.poll.title }));
      else if (e.poll.status === "closed" && round && round.outcome) {
        const result = t("Result of {title}: {decision}.", { title: e.poll.title, decision: decisionText(round.outcome) });
        announce(`${result} ${tk(round.outcome.explanation || "")}`);
      }
    }
  };
}

function decisionBadge(outcome) {
  const cls = outcome.decided === true ? "yes" : outcome.decided === false ? "no" : "none";
  const text = decisionText(outcome);
  return h("span", { class: `decision decision-${cls}`, "data-decision": cls }, text);
}

// Bars of a tally: counts (fixed choices), totals (dots) or points (ranked).
function tallyBars(poll, tally) {
  let rows = [];
  if (tally.counts) {
    const labels = Object.fromEntries((poll.choices || []).map(([v, l]) => [String(v), tk(l)]));
    rows = Object.entries(tally.counts).map(([k, v]) => [labels[k] ? `${k} · ${labels[k]}` : k, v]);
  } else if (tally.totals) {
    rows = tally.totals.map((v, i) => [optionLabel(poll, i), v]);
  } else if (tally.points) {
    rows = tally.points.map((v, i) => [optionLabel(poll, i), v]);
  }
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h("ul", { class: "tally" }, ...rows.map(([label, value]) => h("li", {},
    h("span", { class: "tally-label", dir: "auto" }, label),
    h("span", { class: "tally-bar", style: `width:${(value / max) * 100}%` }),
    h("span", { class: "tally-value" }, String(value)))));
}

// One group's line: voters, the median of a scale, and the count of each choice.
// The group is a sector (a kit's text), an organisation (as typed) or "other".
function groupLine(name, tally, groupBy) {
  const parts = [];
  if (tally.median !== undefined && tally.median !== null) parts.push(t("median {median}", { median: tally.median }));
  if (tally.counts) parts.push(Object.entries(tally.counts).filter(([, v]) => v).map(([k, v]) => `${k}×${v}`).join(", "));
  const shown = name === "other" ? t("other") : groupBy === "organisation" ? name : tk(name);
  return h("li", { "data-group": name }, typed(shown), ` (${tally.voters}): ${parts.join(" · ")}`);
}

function outcomeView(poll, round) {
  const o = round.outcome;
  const groups = Object.entries(o.by_group || {});
  return h("div", { class: "outcome", "data-outcome": poll.id },
    h("p", {}, decisionBadge(o), " ", tk(o.explanation)),
    h("p", { class: "muted small" }, [t("Round {n}", { n: round.number }), t("{turnout} of {present} voted", { turnout: o.turnout, present: o.present }),
      secrecy(round.anonymous)].join(" · ")),
    tallyBars(poll, o.tally),
    groups.length > 1 ? h("details", { "data-group-by": o.group_by || "sector" }, h("summary", {}, groupLabel(o.group_by)),
      h("ul", { class: "small" }, ...groups.map(([g, tally]) => groupLine(g, tally, o.group_by))))
      : null,
    o.reasons && o.reasons.length ? h("details", { open: true }, h("summary", {}, t("Reasons and dissent")),
      h("ul", { class: "small" }, ...o.reasons.map((r) => h("li", { dir: "auto" }, `${r.name ? `${r.name}: ` : ""}[${r.choice}] ${r.reason}`)))) : null);
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
      this.body.replaceChildren(h("p", { class: "muted" }, t("The proposal will appear here.")));
      return;
    }
    const { poll } = shown;
    const round = lastRound(shown);
    const parts = [h("h2", { class: "poll-title", dir: "auto" }, poll.title), poll.proposal ? h("p", { class: "proposal", dir: "auto" }, poll.proposal) : null];
    if (poll.status === "open") {
      const count = shown.count || { turnout: 0 };
      parts.push(h("p", { class: "turnout", "data-turnout": count.turnout },
        ...withNodes(t("{turnout} of {total} have voted", { total: state.presence.total }), { turnout: h("strong", {}, String(count.turnout)) }),
        ` · ${secrecy(round.anonymous)} · ${tk(poll.method_label)}`));
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
      this.body.replaceChildren(h("p", { class: "notice" }, t("The facilitator will open the vote here.")));
      return;
    }
    this.body.replaceChildren(...entries.map((e) => (e.poll.status === "open" ? this.ballot(e) : this.closed(e))));
  }

  closed(e) {
    const round = lastRound(e);
    return h("section", { class: "poll-card" }, h("h2", { dir: "auto" }, e.poll.title),
      round && round.outcome ? outcomeView(e.poll, round) : null);
  }

  ballot(e) {
    const { poll } = e;
    const round = lastRound(e);
    const reason = h("textarea", { rows: 2, maxlength: 500, dir: "auto", placeholder: t("Reason (needed for a block, veto or objection)"),
      "aria-label": t("Your reason (needed for a block, veto or objection)") });
    if (e.my_ballot) reason.value = e.my_ballot.reason || "";
    let picked = e.my_ballot ? e.my_ballot.choice : null;
    const controls = this.controls(poll, picked, (choice) => { picked = choice; });
    controls.setAttribute("aria-label", t("Your choice on {title}", { title: poll.title }));
    const send = h("button", { type: "button", "data-vote": poll.id }, e.my_ballot ? t("Change my vote") : t("Vote"));
    const status = h("p", { class: "small muted", "data-bind": "my-vote" },
      e.my_ballot ? t("Your vote is counted; you can change it until the poll closes.") : "");
    send.addEventListener("click", () => {
      showError(this.root, null);
      const choice = typeof picked === "function" ? picked() : picked;
      if (choice === null || choice === undefined) { showError(this.root, { message: t("Choose first.") }); return; }
      this.live.send(ACTIONS.POLL_VOTE, { poll_id: poll.id, choice, reason: reason.value })
        .then((ack) => {
          // A reconnect while the vote was retried replaced the state with a snapshot
          // (taken before the vote counted): record the ballot on the poll as it is now.
          const now = stagePolls(this.live.state, this.stage).find((x) => x.poll.id === poll.id);
          if (now && now.poll.round === ack.round) now.my_ballot = { choice: ack.choice, reason: ack.reason };
          this.key = null;
          this.update(this.live.state, this.stage);
          announce(t("Your vote is counted; you can change it until the poll closes."));
        })
        .catch((error) => showError(this.root, error));
    });
    return h("section", { class: "poll-card", "data-poll": poll.id },
      h("h2", { dir: "auto" }, poll.title), poll.proposal ? h("p", { class: "proposal", dir: "auto" }, poll.proposal) : null,
      h("p", { class: "badge" }, round.anonymous ? t("Anonymous: nobody sees your choice") : t("Named: your choice is on record")),
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
        const text = typeof value === "number" && poll.method !== "scale" ? `${value} · ${tk(label)}` : tk(label);
        group.append(h("label", { for: id, class: "choice" }, input, h("span", {}, text)));
      }
      return group;
    }
    const options = poll.config.options || [];
    if (poll.method === "dots") {
      const dots = poll.config.dots || 3;
      const counts = options.map((_, i) => (current && current[String(i)]) || 0);
      const left = h("span", { class: "small muted", role: "status" });
      const refresh = () => { left.textContent = t("{left} of {total} dots left", { left: dots - counts.reduce((a, b) => a + b, 0), total: dots }); };
      const rows = options.map((label, i) => {
        const value = h("strong", {}, String(counts[i]));
        const change = (d) => {
          const used = counts.reduce((a, b) => a + b, 0);
          if (d > 0 && (used >= dots || (!poll.config.stacking && counts[i] >= 1))) return;
          counts[i] = Math.max(0, counts[i] + d);
          value.textContent = String(counts[i]);
          refresh();
        };
        return h("div", { class: "row dot-row" }, h("span", { class: "dot-label", dir: "auto" }, label),
          h("button", { type: "button", class: "secondary small", "aria-label": t("Take a dot off {option}", { option: label }), onclick: () => change(-1) }, "−"), value,
          h("button", { type: "button", class: "secondary small", "aria-label": t("Add a dot to {option}", { option: label }), onclick: () => change(1), "data-dot": i }, "+"));
      });
      refresh();
      onPick(() => Object.fromEntries(counts.map((c, i) => [String(i), c]).filter(([, c]) => c > 0)));
      return h("div", { class: "stack", role: "group" }, left, ...rows);
    }
    // ranked: move options up and down, best first
    let order = current && current.length ? current.slice() : options.map((_, i) => i);
    const list = h("ol", { class: "ranking" });
    const draw = () => {
      list.replaceChildren(...order.map((opt, pos) => h("li", {}, typed(options[opt]),
        h("button", { type: "button", class: "secondary small", "aria-label": t("Move {option} up", { option: options[opt] }), disabled: pos === 0, onclick: () => { [order[pos - 1], order[pos]] = [order[pos], order[pos - 1]]; draw(); } }, "↑"),
        h("button", { type: "button", class: "secondary small", "aria-label": t("Move {option} down", { option: options[opt] }), disabled: pos === order.length - 1, onclick: () => { [order[pos + 1], order[pos]] = [order[pos], order[pos + 1]]; draw(); } }, "↓"))));
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
    const title = h("input", { placeholder: t("Proposal title"), "aria-label": t("Proposal title"), maxlength: 200, dir: "auto", "data-control": "poll-title" });
    const proposal = h("textarea", { rows: 2, maxlength: 2000, dir: "auto", placeholder: t("The proposal, as the room should read it"), "aria-label": t("The proposal") });
    const method = h("select", { "data-control": "poll-method", "aria-label": t("Voting method") }, ...pollMethods().map(([v, l]) => h("option", { value: v, selected: v === ((stage.config || {}).method || DEFAULT_METHOD) }, l)));
    const options = h("textarea", { rows: 3, dir: "auto", placeholder: t("Options, one per line (dot vote, ranked choice)"), "aria-label": t("Options, one per line") });
    const anonymous = h("input", { type: "checkbox", checked: (stage.config || {}).anonymous !== false });
    const live = h("input", { type: "checkbox" });
    const groupBy = h("select", { "data-control": "poll-group-by", "aria-label": t("Results by group") },
      ...GROUP_BY.map(([v, l]) => h("option", { value: v, selected: v === ((stage.config || {}).group_by || "sector") }, l)));
    const create = h("button", { type: "button", "data-action": "create-poll" }, t("Create poll"));
    create.addEventListener("click", () => {
      const opts = options.value.split("\n").map((o) => o.trim()).filter(Boolean);
      sendAction(this.live, this.root, ACTIONS.POLL_CREATE, { title: title.value, proposal: proposal.value, method: method.value,
        options: opts, anonymous: anonymous.checked, results: live.checked ? "live" : "on_close", group_by: groupBy.value })
        .then((ack) => { if (ack) { title.value = ""; proposal.value = ""; options.value = ""; } });
    });
    this.list = h("div", { class: "poll-list" });
    body.replaceChildren(
      h("div", { class: "stack poll-form" }, title, proposal, method, options,
        h("label", { class: "inline" }, anonymous, " ", t("Anonymous (fixed when the poll opens)")),
        h("label", { class: "inline" }, live, " ", t("Show results live (otherwise on close)")),
        h("label", { class: "inline" }, t("Breakdown"), " ", groupBy), create),
      this.list);
    this.update(state, stage);
  }

  update(state, stage) {
    const entries = stagePolls(state, stage);
    this.list.replaceChildren(...entries.slice().reverse().map((e) => {
      const { poll } = e;
      const round = lastRound(e);
      const buttons = [];
      if (poll.status !== "open") buttons.push(h("button", { type: "button", class: "small", "data-open": poll.id, onclick: () => sendAction(this.live, this.root, ACTIONS.POLL_OPEN, { poll_id: poll.id }) }, poll.round ? t("Open round {n}", { n: poll.round + 1 }) : t("Open")));
      if (poll.status === "open") buttons.push(h("button", { type: "button", class: "small", "data-close": poll.id, onclick: () => sendAction(this.live, this.root, ACTIONS.POLL_CLOSE, { poll_id: poll.id }) }, t("Close and count")));
      if (poll.status !== "open") {
        buttons.push(h("button", { type: "button", class: "small secondary", onclick: () => {
          const text = window.prompt(t("Amend the proposal before the next round:"), poll.proposal);
          if (text !== null) sendAction(this.live, this.root, ACTIONS.POLL_AMEND, { poll_id: poll.id, proposal: text });
        } }, t("Amend")));
      }
      const facts = [tk(poll.method_label), statusLabel(poll.status), poll.round ? t("round {n}", { n: poll.round }) : null, secrecy(poll.anonymous),
        poll.group_by && poll.group_by !== "sector" ? groupLabel(poll.group_by).toLowerCase() : null];
      return h("section", { class: "poll-card", "data-poll": poll.id },
        h("strong", { dir: "auto" }, poll.title), h("span", { class: "muted small" }, " · ", facts.filter(Boolean).join(" · ")),
        poll.status === "open" ? h("p", { class: "small" }, t("{turnout} of {total} have voted", { turnout: (e.count || { turnout: 0 }).turnout, total: state.presence.total })) : null,
        poll.status === "open" && e.count && e.count.tally ? tallyBars(poll, e.count.tally) : null,
        poll.status === "closed" && round && round.outcome ? outcomeView(poll, round) : null,
        h("div", { class: "row" }, ...buttons));
    }));
  }
}
