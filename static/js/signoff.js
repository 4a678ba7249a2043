// Freezing the plan into a version and the partners signing it: the console
// freezes and names who signs for each organisation; the named representative
// signs on their phone; the projector shows who has signed and, once someone
// has, a QR code to download the signed plan.
import { ACTIONS, TYPES } from "/protocol.js";
import { announce, busy, h, showError, typed, withNodes } from "./dom.js";
import { sendAction } from "./live.js";
import { orgKey, planReducers } from "./plan_state.js";
import { t, tn, tk } from "./i18n.js";

const shortHash = (version) => version.sha256.slice(0, 12);

function frozenAt(version) {
  return new Date(version.frozen_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const representativeOf = (state, organisation) =>
  state.signoff.representatives.find((r) => orgKey(r.organisation) === orgKey(organisation)) || null;

function signatureOf(state, organisation) {
  const version = state.signoff.version;
  return (version && version.signatures.find((s) => orgKey(s.organisation) === orgKey(organisation))) || null;
}

function decisionLabel(state, signature) {
  if (!signature) return t("Not signed");
  const found = state.signoff.decisions.find((d) => d.id === signature.decision);
  return found ? tk(found.label) : signature.decision;
}

function stateBadge(state, signature) {
  return h("span", { class: `sign-state sign-${signature ? signature.decision : "none"}`, "data-sign-state": signature ? signature.decision : "none" },
    decisionLabel(state, signature));
}

// Everyone who can sign: organisations in the room (presence, kept live by the
// participant events), those the version was frozen with, and any already named or signed.
function organisations(state) {
  const names = new Map();
  const add = (name) => { if (name && !names.has(orgKey(name))) names.set(orgKey(name), name); };
  state.presence.organisation_names.forEach(add);
  const version = state.signoff.version;
  if (version) {
    version.organisations.forEach(add);
    version.signatures.forEach((s) => add(s.organisation));
  }
  state.signoff.representatives.forEach((r) => add(r.organisation));
  return [...names.values()].sort((a, b) => a.localeCompare(b));
}

function versionLine(version) {
  return h("span", { "data-version": version.number },
    h("strong", {}, t("Version {version}", { version: version.number })), " · ", h("code", {}, shortHash(version)),
    " · ", t("frozen {date}", { date: frozenAt(version) }), " · ", tn("{n} action", "{n} actions", version.actions),
    version.override ? h("span", { class: "muted" }, " · ", ...withNodes(t("frozen despite gaps: {reason}"), { reason: typed(version.override.reason) })) : null);
}

// Endorsed (with or without reservations), declined and not yet signed: a decline is
// never counted among those who endorsed.
function tally(state) {
  const version = state.signoff.version;
  const signatures = version ? version.signatures : [];
  const count = (decision) => signatures.filter((s) => s.decision === decision).length;
  const total = organisations(state).length;
  const reservations = count("endorse_with_reservations");
  const endorsed = count("endorse") + reservations;
  const declined = count("decline");
  return { endorsed, reservations, declined, unsigned: Math.max(total - signatures.length, 0), total };
}

function signedCount(state) {
  const version = state.signoff.version;
  if (!version) return "";
  const n = tally(state);
  return [
    t("{endorsed} of {total} organisations have endorsed version {version}.", { ...n, version: version.number }),
    t("{reservations} with reservations · {declined} declined · {unsigned} not yet", n),
  ].join(" ");
}

const staleText = (version) => t("The plan changed after version {version}; freeze again.", { version: version.number });

// -- console ------------------------------------------------------------------------------------

// The version as it stands and the Freeze button; a refusal lists what is
// missing and offers to freeze anyway with a reason, which the version records.
export class FreezeControl {
  constructor(errorRoot, live) {
    this.errorRoot = errorRoot;
    this.live = live;
    this.status = h("p", { class: "small", "data-bind": "version" });
    this.note = h("p", { class: "small muted", "aria-live": "polite" });
    this.stale = h("p", { class: "warning", "data-bind": "stale", hidden: true });
    this.button = h("button", { type: "button", class: "small", "data-action": "freeze" }, t("Freeze plan"));
    this.button.addEventListener("click", () => this.freeze("", this.button));
    this.override = h("div", { class: "freeze-override stack", hidden: true });
    this.el = h("div", { class: "freeze" }, h("div", { class: "row spread" }, this.status, this.button), this.note, this.stale, this.override);
  }

  freeze(reason, button) {
    showError(this.errorRoot, null);
    this.note.textContent = "";
    return busy(button, this.live.send(ACTIONS.PLAN_FREEZE, reason ? { override_reason: reason } : {}))
      .then((ack) => {
        this.override.hidden = true;
        this.override.replaceChildren();
        this.note.textContent = ack.new ? t("Frozen as version {version}.", { version: ack.version.number })
          : t("Nothing changed since version {version}: it stands.", { version: ack.version.number });
      })
      .catch((error) => {
        if (error.details && error.details.missing) this.askReason(error.details.missing);
        else showError(this.errorRoot, error);
      });
  }

  askReason(missing) {
    const reason = h("textarea", { rows: 2, maxlength: 1000, required: true, dir: "auto", id: "freeze-reason", "data-control": "override-reason" });
    const anyway = h("button", { type: "button", class: "small", "data-action": "freeze-anyway" }, t("Freeze anyway"));
    anyway.addEventListener("click", () => {
      if (!reason.value.trim()) {
        showError(this.errorRoot, { message: t("Give the reason for freezing with these gaps: it is recorded in the version.") });
        reason.focus();
        return;
      }
      this.freeze(reason.value, anyway);
    });
    const cancel = h("button", { type: "button", class: "small secondary" }, t("Cancel"));
    cancel.addEventListener("click", () => { this.override.hidden = true; });
    this.override.replaceChildren(
      h("p", {}, t("The plan cannot be frozen as it is:")),
      h("ul", { class: "small", "data-bind": "missing" }, ...missing.map((m) => h("li", { dir: "auto" }, tk(m)))),
      h("label", { for: "freeze-reason" }, t("Reason for freezing anyway (required, recorded in the version)")), reason,
      h("div", { class: "row" }, anyway, cancel));
    this.override.hidden = false;
  }

  update(state) {
    const { version, stale } = state.signoff;
    this.status.replaceChildren(version ? versionLine(version) : t("The plan has not been frozen yet."));
    this.stale.hidden = !(version && stale);
    this.stale.textContent = version ? staleText(version) : "";
  }
}

// Refusals show in its own error line, under the version, not in the stages panel.
export class ConsoleSignoff {
  constructor(_root, live) { this.live = live; this.key = null; this.linksKey = null; }

  mount(body, state) {
    this.el = h("div", { class: "signoff-console" });
    this.freeze = new FreezeControl(this.el, this.live);
    this.table = h("div");
    // A select being used is never redrawn; what arrived meanwhile shows when it is left.
    this.table.addEventListener("focusout", () => setTimeout(() => this.update(this.live.state)));
    this.links = h("p", { class: "row small" });
    this.count = h("p", { class: "small muted", "data-bind": "signed-count" });
    this.el.append(this.freeze.el, h("p", { class: "error", role: "alert", "data-bind": "error", hidden: true }),
      h("h3", {}, t("Who signs for each organisation")), this.count, this.table, this.links);
    body.replaceChildren(this.el);
    this.update(state);
  }

  update(state) {
    this.freeze.update(state);
    const version = state.signoff.version;
    const links = JSON.stringify(version && version.share_path);
    if (links !== this.linksKey) {
      this.linksKey = links;
      this.links.replaceChildren(...[
        h("a", { href: `/workshops/${state.workshop.id}/plans`, "data-link": "plans" }, t("Plans and downloads")),
        version ? h("a", { href: version.share_path, target: "_blank", rel: "noopener" }, t("Public page of version {version}", { version: version.number })) : null,
      ].filter(Boolean));
    }
    const key = JSON.stringify([state.participants, state.signoff]);
    if (key === this.key || this.table.contains(document.activeElement)) return;
    this.key = key;
    this.count.textContent = signedCount(state);
    const people = state.participants || [];
    this.table.replaceChildren(h("table", { class: "signoff-table" },
      h("thead", {}, h("tr", {}, ...[t("Organisation"), t("Signs for it"), t("Signature")].map((label) => h("th", {}, label)))),
      h("tbody", {}, ...organisations(state).map((org) => {
        const rep = representativeOf(state, org);
        const signature = signatureOf(state, org);
        return h("tr", { "data-org": org }, h("td", { dir: "auto" }, org),
          h("td", {}, this.chooser(org, rep, people.filter((p) => orgKey(p.organisation) === orgKey(org)))),
          h("td", {}, stateBadge(state, signature), signature ? h("span", { class: "small muted", dir: "auto" },
            ` ${signature.representative}, ${signature.title}${signature.text ? ` — “${signature.text}”` : ""}`) : null));
      }))));
  }

  chooser(org, rep, people) {
    const options = people.map((p) => [p.id, p.name]);
    if (rep && !options.some(([id]) => id === rep.participant_id)) options.push([rep.participant_id, rep.name]);
    const select = h("select", { class: "small", "aria-label": t("Who signs for {organisation}", { organisation: org }), "data-representative": org },
      rep ? null : h("option", { value: "" }, t("Name someone…")),
      ...options.map(([id, name]) => h("option", { value: id, selected: rep && rep.participant_id === id }, name)));
    select.addEventListener("change", () => {
      if (select.value) busy(select, sendAction(this.live, this.el, ACTIONS.SIGNOFF_NAME, { participant_id: Number(select.value) }));
    });
    return select;
  }
}

// -- projector -----------------------------------------------------------------------------------

export class ProjectorSignoff {
  // Says each new signature of the version shown (not those there when it opened).
  announceSignatures(state, version) {
    const ids = version ? version.signatures.map((s) => `${version.id}:${s.organisation}`) : [];
    if (this.signed) {
      for (const s of version ? version.signatures : []) {
        if (!this.signed.has(`${version.id}:${s.organisation}`)) announce(t("{organisation}: {decision}.", { organisation: s.organisation, decision: decisionLabel(state, s) }));
      }
    }
    this.signed = new Set(ids);
  }

  // roomOrigin: the address phones reach this server at, as the QR code has it.
  constructor(roomOrigin) { this.roomOrigin = roomOrigin; }

  mount(body, state) { this.body = body; this.key = null; this.signed = null; this.update(state); }

  update(state) {
    const key = JSON.stringify(state.signoff);
    if (key === this.key) return;
    this.key = key;
    const { version, stale } = state.signoff;
    this.announceSignatures(state, version);
    if (!version) {
      this.body.replaceChildren(h("p", { class: "muted" }, t("The plan appears here once the facilitator freezes it.")));
      return;
    }
    const url = `${this.roomOrigin}${version.share_path}`;
    this.body.replaceChildren(h("div", { class: "signoff-projector" },
      h("div", { class: "signoff-orgs" },
        h("p", { class: "signoff-version" }, h("strong", {}, t("Version {version}", { version: version.number })), " · ", h("code", {}, shortHash(version)),
          h("span", { class: "muted" }, " · ", t("{endorsed} of {total} endorsed", tally(state)), " · ", t("{declined} declined", tally(state)))),
        stale ? h("p", { class: "warning" }, t("The facilitator is updating the plan; signing opens again when it is frozen.")) : null,
        h("ul", { class: "signoff-list" }, ...organisations(state).map((org) =>
          h("li", { "data-org": org }, h("span", { class: "org-name", dir: "auto" }, org), stateBadge(state, signatureOf(state, org)))))),
      version.signatures.length ? h("div", { class: "share", "data-share": true },
        h("img", { class: "share-qr", src: `${version.share_path}/qr.svg`, alt: t("QR code to download the signed plan") }),
        h("p", {}, t("Scan to download the signed plan")),
        h("p", { class: "share-url" }, url)) : null));
  }
}

// -- phone ----------------------------------------------------------------------------------------

// Links to the signed plan, once the newest version has a signature.
function downloadLinks(state) {
  const version = state.signoff.version;
  if (!version || !version.signatures.length) return [];
  return [h("div", { class: "stack downloads", "data-downloads": true },
    h("a", { class: "button", href: `${version.share_path}.pdf`, "data-download": "pdf" }, t("Download the plan (PDF)")),
    h("a", { class: "button secondary", href: version.share_path }, t("The plan's page")))];
}

// The close stage (and a closed workshop): the downloads, when there are any.
export class PhoneDownloads {
  mount(body, state) { this.body = body; this.key = null; this.update(state); }

  update(state) {
    const version = state.signoff.version;
    const key = JSON.stringify(version && version.signatures.length ? version.share_path : null);
    if (key === this.key) return;
    this.key = key;
    this.body.replaceChildren(...downloadLinks(state));
  }
}

export class PhoneSignoff {
  constructor(root, live) { this.root = root; this.live = live; this.key = null; }

  mount(body, state) {
    this.part = h("div", { class: "stack" });
    const downloads = h("div");
    this.downloads = new PhoneDownloads();
    body.replaceChildren(this.part, downloads);
    this.downloads.mount(downloads, state);
    this.update(state);
  }

  update(state) {
    this.downloads.update(state);
    const { version, stale } = state.signoff;
    const org = state.me.organisation;
    const rep = representativeOf(state, org);
    const signature = signatureOf(state, org);
    // Redrawn only when what this phone shows changes, never under a typing thumb.
    const key = JSON.stringify([version && version.id, stale, rep, signature, state.me]);
    if (key === this.key) return;
    this.key = key;
    if (!version) {
      this.part.replaceChildren(h("p", { class: "notice" }, t("The facilitator has not frozen the plan yet; it appears here when it is.")));
      return;
    }
    const mine = rep && rep.participant_id === state.me.id;
    this.part.replaceChildren(...[
      stale ? h("p", { class: "notice warning", "data-bind": "stale" }, t("The facilitator is updating the plan; signing opens again when it is frozen.")) : null,
      signature ? this.recorded(state, version, signature) : null,
      !signature && mine && !stale ? this.form(state, version) : null,
      !signature && !mine ? this.whoSigns(state, org, rep) : null,
    ].filter(Boolean));
  }

  whoSigns(state, org, rep) {
    return h("div", { class: "notice", "data-bind": "who-signs" },
      h("p", {}, ...(rep ? withNodes(t("{name} signs for {organisation}."), { name: typed(rep.name), organisation: typed(org) })
        : withNodes(t("The facilitator has not yet named who signs for {organisation}."), { organisation: typed(org) }))),
      h("p", {}, typed(org), ": ", stateBadge(state, null)));
  }

  recorded(state, version, signature) {
    return h("div", { class: "notice signed", "data-signed": signature.decision },
      h("p", {}, h("strong", { dir: "auto" }, signature.organisation), ": ", stateBadge(state, signature)),
      signature.text ? h("blockquote", { dir: "auto" }, signature.text) : null,
      h("p", { class: "small", dir: "auto" }, `${signature.representative}, ${signature.title}`),
      h("p", { class: "small muted" }, t("Version {version}", { version: version.number }), " · ", h("code", {}, shortHash(version)),
        ` · ${new Date(signature.signed_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}`));
  }

  form(state, version) {
    const decisions = h("fieldset", { class: "choices" }, h("legend", {}, t("Your decision")),
      ...state.signoff.decisions.map((d) => h("label", { for: `sign-${d.id}`, class: "choice" },
        h("input", { type: "radio", name: "decision", id: `sign-${d.id}`, value: d.id }), h("span", {}, tk(d.label)))));
    const fullName = h("input", { id: "sign-name", maxlength: 120, required: true, autocomplete: "name", dir: "auto" });
    fullName.value = state.me.name;
    const title = h("input", { id: "sign-title", maxlength: 120, required: true, dir: "auto", placeholder: t("e.g. Director, Human Resources") });
    const text = h("textarea", { id: "sign-text", rows: 3, maxlength: 2000, dir: "auto" });
    const submit = h("button", { type: "submit", "data-action": "sign" },
      ...withNodes(t("Sign for {organisation}"), { organisation: typed(state.me.organisation) }));
    const form = h("form", { class: "stack", "data-form": "sign" },
      h("p", { class: "notice" }, ...withNodes(t("You sign for {organisation}."), { organisation: typed(state.me.organisation) }), " ", versionLine(version)),
      h("a", { class: "button secondary", href: `${version.share_path}.pdf`, target: "_blank", rel: "noopener", "data-link": "read-pdf" }, t("Read the plan (PDF)")),
      decisions,
      h("label", { for: "sign-name" }, t("Full name")), fullName,
      h("label", { for: "sign-title" }, t("Title")), title,
      h("label", { for: "sign-text" }, t("Reservations, or the reason for declining")), text,
      h("p", { class: "small muted" }, t("Required unless you endorse.")),
      submit);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      showError(this.root, null);
      const picked = form.querySelector('input[name="decision"]:checked');
      if (!picked) { showError(this.root, { message: t("Choose: endorse, endorse with reservations, or decline.") }); return; }
      const sign = this.live.send(ACTIONS.SIGNOFF_SIGN, {
        version_id: version.id, decision: picked.value, full_name: fullName.value, title: title.value, text: text.value,
      });
      busy(submit, sign).then((ack) => {
        planReducers[TYPES.SIGNOFF_SIGNED](this.live.state, ack);
        this.update(this.live.state);
        announce(t("Your signature for {organisation} is recorded.", { organisation: state.me.organisation }));
      }).catch((error) => showError(this.root, error));
    });
    return form;
  }
}
