// The facilitator's register of partner organisations: add one, confirm one a
// participant added, merge one into another (everything that names it follows).
import { ACTIONS } from "/protocol.js";
import { busy, h } from "./dom.js";
import { t, tk } from "./i18n.js";

export class ConsoleOrganisations {
  constructor(root, act) {
    this.root = root;
    this.act = act;
    this.key = null;
    const name = h("input", { maxlength: 80, required: true, dir: "auto", "aria-label": t("Organisation name"), placeholder: t("Organisation name"), "data-control": "organisation-name" });
    const short = h("input", { maxlength: 40, dir: "auto", "aria-label": t("Short name"), placeholder: t("Short name"), "data-control": "organisation-short" });
    const submit = h("button", { type: "submit", class: "small" }, t("Add organisation"));
    const form = h("form", { class: "row organisation-add", "data-form": "organisation-add" }, name, short, submit);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const fields = { name: name.value };
      if (short.value.trim()) fields.short_name = short.value;
      busy(submit, this.act(ACTIONS.ORGANISATION_ADD, { organisation: fields }))
        .then(() => { name.value = ""; short.value = ""; }).catch(() => {});
    });
    this.list = h("ul", { class: "organisations" });
    this.list.addEventListener("focusout", (ev) => {
      if (this.pending && !this.list.contains(ev.relatedTarget)) this.update(this.pending);
    });
    root.replaceChildren(form, this.list);
  }

  update(state) {
    const items = state.organisations || [];
    const key = JSON.stringify(items);
    if (key === this.key) return;
    // Not while the facilitator types in a row: it catches up when they leave it.
    if (this.list.contains(document.activeElement)) { this.pending = state; return; }
    this.pending = null;
    this.key = key;
    const byId = new Map(items.map((o) => [o.id, o]));
    const flaggedFirst = [...items].sort((a, b) => (b.flagged - a.flagged) || a.name.localeCompare(b.name));
    this.list.replaceChildren(...flaggedFirst.map((o) => this.item(o, items, byId)));
  }

  item(o, items, byId) {
    const others = items.filter((x) => x.id !== o.id);
    const merge = h("select", { "aria-label": t("Merge {name} into", { name: o.name }), "data-merge": o.id },
      h("option", { value: "" }, t("Merge into…")),
      ...others.map((x) => h("option", { value: String(x.id) }, x.name)));
    merge.addEventListener("change", () => {
      const into = byId.get(Number(merge.value));
      if (!into) return;
      if (window.confirm(t("Merge {name} into {into}? Its people, plan rows and signatures will name {into}.", { name: o.name, into: into.name }))) {
        this.act(ACTIONS.ORGANISATION_MERGE, { organisation_id: o.id, into_id: into.id }).catch(() => {});
      }
      merge.value = "";
    });
    const confirm = o.flagged ? h("button", { type: "button", class: "small secondary", "data-confirm": o.id }, t("Confirm")) : null;
    if (confirm) confirm.addEventListener("click", () => busy(confirm, this.act(ACTIONS.ORGANISATION_EDIT, { organisation_id: o.id, changes: { flagged: false } })).catch(() => {}));
    const near = (o.near || []).map((id) => byId.get(id)).filter(Boolean);
    const contacts = this.contacts(o);
    const names = [o.short_name, ...(o.other_names || [])].filter(Boolean);
    return h("li", { class: o.flagged ? "organisation flagged" : "organisation", "data-organisation": o.id },
      h("div", { class: "row spread" },
        h("span", {},
          h("strong", { dir: "auto" }, o.name),
          names.length ? h("span", { class: "muted small", dir: "auto" }, ` (${names.join("; ")})`) : null,
          o.sector ? h("span", { class: "muted small" }, ` · ${tk(o.sector)}`) : null,
          o.flagged ? h("span", { class: "tag offer" }, t("new")) : null),
        h("span", { class: "row" }, confirm, merge)),
      near.length ? h("p", { class: "small warning-text" }, t("May be the same as: {names}", { names: near.map((x) => x.name).join("; ") })) : null,
      contacts);
  }

  // E-mail addresses (for the signed plan) and the people who may sign for it, each
  // list separated by ";" (names may hold commas). Only the facilitator sees them.
  contacts(o) {
    const list = (values) => (values || []).join("; ");
    const split = (text) => text.split(";").map((v) => v.trim()).filter(Boolean);
    const emails = h("input", { value: list(o.emails), dir: "auto", "aria-label": t("E-mails of {name}", { name: o.name }), "data-emails": o.id });
    const signatories = h("input", { value: list(o.signatories), dir: "auto", "aria-label": t("Signatories of {name}", { name: o.name }), "data-signatories": o.id });
    const save = h("button", { type: "submit", class: "small secondary" }, t("Save"));
    const form = h("form", { class: "stack organisation-contacts" },
      h("label", { class: "small" }, t("E-mails, separated by ;"), emails),
      h("label", { class: "small" }, t("Who may sign for it, separated by ;"), signatories), save);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const changes = { emails: split(emails.value), signatories: split(signatories.value) };
      busy(save, this.act(ACTIONS.ORGANISATION_EDIT, { organisation_id: o.id, changes })).catch(() => {});
    });
    const count = (o.emails || []).length + (o.signatories || []).length;
    return h("details", { class: "small", "data-contacts": o.id },
      h("summary", {}, count ? t("Contacts and signatories ({n})", { n: count }) : t("Contacts and signatories")), form);
  }
}
