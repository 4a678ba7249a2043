"""Everything the plan's template shows, derived from the canonical plan in plain data:
partners by sector, the agenda, decisions and their reasons, the stakeholder map, the
sign-off, in the plan's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from facilitator.core import i18n
from facilitator.core.i18n import N_
from facilitator.core.text import name_key
from facilitator.documents.action_table import accountability_view, action_plan, monitoring_row
from facilitator.documents.drawings import (
    map_svg,
)
from facilitator.documents.formatting import as_text
from facilitator.domain import accountability
from facilitator.domain.signoff import DECISIONS


def plan_context(
    plan: Mapping[str, Any],
    digest: str,
    signatures: Sequence[Mapping[str, Any]],
    *,
    generated_at: datetime,
) -> dict[str, Any]:
    """Everything the template shows, derived from the plan in plain data, and the
    texts of the plan's language (``_``, ``_n``, ``tk`` as in the other templates)."""
    lang = i18n.supported((plan.get("workshop") or {}).get("language")) or i18n.DEFAULT
    actions = list(plan.get("actions") or [])
    organisations = list(plan.get("organisations") or [])
    org_names = [as_text(o.get("name")) for o in organisations]
    sectors = list(plan.get("sectors") or [])
    gaps = accountability.gaps(actions, org_names, sectors)
    gaps["sectors_without_action"] = [
        i18n.kit_text(lang, s) for s in gaps["sectors_without_action"]
    ]
    return {
        "plan": plan,
        "workshop": plan.get("workshop") or {},
        "digest": digest,
        "generated_at": generated_at.isoformat(),
        "override": plan.get("override"),
        "partners": partners(organisations, sectors, lang=lang),
        "map": stakeholder_map(plan.get("stakeholder_map") or {}, lang=lang),
        "agenda": agenda(plan.get("agenda") or []),
        "decisions": [decision(d, lang=lang) for d in plan.get("decisions") or []],
        "register": reservations(plan.get("decisions") or [], lang=lang),
        "action_plan": action_plan(plan, lang=lang),
        "accountability": accountability_view(actions, organisations, lang=lang),
        "monitoring": [monitoring_row(a) for a in actions],
        "signoff": signoff(org_names, organisations, signatures, lang=lang),
        "gaps": gaps,
        "page_of": page_of(lang),
        "lang": lang,
        "lang_dir": i18n.direction(lang),
        "_": partial(i18n.gettext, lang),
        "_n": partial(i18n.ngettext, lang),
        "tk": partial(i18n.kit_text, lang),
    }


def page_of(lang: str) -> tuple[str, str, str]:
    """The page's "Page {n} of {total}" in ``lang`` as the texts before, between and after the two
    numbers, which only the page's margin box knows (``counter(page)``, ``counter(pages)``).
    A translation that does not keep both numbers in that order gives way to the English."""
    text = i18n.gettext(lang, N_("Page {n} of {total}"))
    before, n, rest = text.partition("{n}")
    between, total, after = rest.partition("{total}")
    if n and total and "{" not in before + between + after:
        return before, between, after
    return "Page ", " of ", ""


def partners(
    organisations: Sequence[Mapping[str, Any]], sectors: Sequence[str], *, lang: str = i18n.DEFAULT
) -> dict[str, Any]:
    """Organisations grouped by sector, in the kit's sector order."""
    order = {name_key(s): i for i, s in enumerate(sectors)}
    groups: dict[str, dict[str, Any]] = {}
    for org in organisations:
        given = as_text(org.get("sector"))
        sector = given or N_("Sector not given")
        shown = i18n.kit_text(lang, given) if given else i18n.gettext(lang, sector)
        group = groups.setdefault(name_key(sector), {"sector": shown, "organisations": []})
        names = [as_text(p.get("name")) for p in org.get("participants") or []]
        group["organisations"].append({"name": as_text(org.get("name")), "participants": names})
    ordered = sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    for _, group in ordered:
        group["organisations"].sort(key=lambda o: o["name"].casefold())
    present = set(groups)
    return {
        "groups": [g for _, g in ordered],
        "organisations": len(organisations),
        "participants": sum(len(o.get("participants") or []) for o in organisations),
        "missing_sectors": [i18n.kit_text(lang, s) for s in sectors if name_key(s) not in present],
        "sectors_present": sum(1 for s in sectors if name_key(s) in present),
        "sectors": len(sectors),
    }


def agenda(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Agenda items in the agreed order, with their dots as a share of the most dots."""
    most = max((int(i.get("dots") or 0) for i in items), default=0)
    return [
        {
            "title": as_text(item.get("title")),
            "dots": int(item.get("dots") or 0),
            "minutes": item.get("minutes"),
            "bar": round(100 * int(item.get("dots") or 0) / most, 1) if most else 0,
        }
        for item in items
    ]


def decision(item: Mapping[str, Any], *, lang: str = i18n.DEFAULT) -> dict[str, Any]:
    """One closed poll round: its rule, tally shares, turnout and outcome in words.

    The method, the rule and the choices are the app's fixed texts, recorded in English:
    shown in ``lang`` where the catalogue has them as recorded."""
    turnout = int(item.get("turnout") or 0)
    present = int(item.get("present") or 0)
    decided = item.get("decided")
    rows = [
        {
            "label": i18n.kit_text(lang, as_text(r.get("label"))),
            "count": int(r.get("count") or 0),
            "share": (int(r.get("count") or 0) / turnout) if turnout else 0.0,
        }
        for r in item.get("tally_rows") or []
    ]
    return {
        "title": as_text(item.get("title")),
        "proposal": as_text(item.get("proposal")),
        "round": item.get("round"),
        "method": i18n.kit_text(lang, as_text(item.get("method_label") or item.get("method"))),
        "rule": i18n.kit_text(lang, as_text(item.get("rule_text"))),
        "anonymous": bool(item.get("anonymous")),
        "outcome": i18n.gettext(
            lang, {True: N_("Decided"), False: N_("Not decided")}.get(decided, N_("No decision"))
        ),
        "outcome_class": {True: "yes", False: "no"}.get(decided, "none"),
        "explanation": as_text(item.get("explanation")),
        "rows": rows,
        "turnout": turnout,
        "present": present,
        "turnout_share": turnout / present if present else None,
        "reasons": len(item.get("reasons") or []),
        "closed_at": item.get("closed_at"),
    }


def reservations(
    decisions: Sequence[Mapping[str, Any]], *, lang: str = i18n.DEFAULT
) -> list[dict[str, Any]]:
    """Every reason given in every decision; names only from named polls."""
    register = []
    for number, item in enumerate(decisions, start=1):
        anonymous = bool(item.get("anonymous"))
        for reason in item.get("reasons") or []:
            register.append(
                {
                    "number": number,
                    "decision": as_text(item.get("title")),
                    "choice": i18n.kit_text(lang, as_text(reason.get("choice"))),
                    "reason": as_text(reason.get("reason")),
                    "name": "" if anonymous else as_text(reason.get("name")),
                    "anonymous": anonymous,
                }
            )
    return register


def stakeholder_map(spec: Mapping[str, Any], *, lang: str = i18n.DEFAULT) -> dict[str, Any]:
    """The power/interest grid as inline SVG, and the legend rows for its numbered dots."""
    scale = float(spec.get("scale_max") or 10) or 10.0
    quadrant_names = {
        key: i18n.kit_text(lang, as_text(name))
        for key, name in (spec.get("quadrants") or {}).items()
    }
    stakeholders = list(spec.get("stakeholders") or [])
    legend = [
        {
            "number": n,
            "name": as_text(s.get("name")),
            "category": i18n.kit_text(lang, as_text(s.get("category"))),
            "sector": i18n.kit_text(lang, as_text(s.get("sector"))),
            "quadrant": as_text(quadrant_names.get(s.get("quadrant"), s.get("quadrant"))),
            "power": s.get("power"),
            "interest": s.get("interest"),
        }
        for n, s in enumerate(stakeholders, start=1)
    ]
    svg, labels = map_svg(scale, quadrant_names, stakeholders, lang)
    return {"svg": svg, "labels": labels, "legend": legend}


def signoff(
    names: Sequence[str],
    organisations: Sequence[Mapping[str, Any]],
    signatures: Sequence[Mapping[str, Any]],
    *,
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """One row per signature, and a "Not signed" row per organisation without one, in the
    order of the plan's organisations, then organisations that signed without being listed."""
    by_org: dict[str, list[Mapping[str, Any]]] = {}
    for signature in sorted(signatures, key=lambda s: as_text(s.get("signed_at"))):
        by_org.setdefault(name_key(signature.get("organisation")), []).append(signature)
    sector_of = {
        name_key(o.get("name")): i18n.kit_text(lang, as_text(o.get("sector")))
        for o in organisations
    }
    order = [n for n in names if n]
    listed = {name_key(n) for n in order}
    for signature in signatures:
        name = as_text(signature.get("organisation"))
        if name_key(name) not in listed:
            listed.add(name_key(name))
            order.append(name)
    rows = []
    counts = {"endorse": 0, "endorse_with_reservations": 0, "decline": 0, "unsigned": 0}
    for name in order:
        signed = by_org.get(name_key(name)) or []
        if not signed:
            counts["unsigned"] += 1
            rows.append(
                {"organisation": name, "sector": sector_of.get(name_key(name), ""), "signed": False}
            )
        for signature in signed:
            kind = as_text(signature.get("decision"))
            counts[kind] = counts.get(kind, 0) + 1
            rows.append(
                {
                    "organisation": name,
                    "sector": sector_of.get(name_key(name), ""),
                    "signed": True,
                    "listed": name_key(name) in {name_key(n) for n in names},
                    "representative": as_text(signature.get("representative")),
                    "title": as_text(signature.get("title")),
                    "decision": (
                        i18n.gettext(lang, DECISIONS[kind])
                        if kind in DECISIONS
                        else kind or i18n.gettext(lang, N_("Unknown"))
                    ),
                    "kind": kind,
                    "text": as_text(signature.get("text")),
                    "signed_at": signature.get("signed_at"),
                }
            )
    return {"rows": rows, "counts": counts}
