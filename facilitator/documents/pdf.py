"""The signed multisectoral action plan as a PDF, the document a ministry files.

The PDF is made from the canonical plan alone (docs/plan.md) through a Jinja template
with ``@page`` CSS, and carries the plan's canonical JSON as the embedded file
``plan.json``, so anyone holding the PDF can recompute the version hash printed on
every page. Rendering never fetches anything: the URL fetcher refuses every URL but
``data:``, and every text from the plan is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import cssselect2
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from markupsafe import escape as escape_html
from pypdf import PdfReader
from weasyprint import CSS, HTML, Attachment
from weasyprint.css.counters import CounterStyle
from weasyprint.html import UA_STYLESHEET
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from facilitator.core import i18n
from facilitator.core.i18n import N_
from facilitator.core.text import text_direction
from facilitator.documents import parts as pdf_parts
from facilitator.documents.drawings import (
    MATRIX_REFS_PER_BLOCK,
    MATRIX_ROWS_PER_BLOCK,
    map_svg,
    mark_swatch,
    matrix_block,
)
from facilitator.domain import accountability
from facilitator.domain.canonical import canonical_bytes
from facilitator.domain.plan import STATUSES
from facilitator.domain.signoff import DECISIONS

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ATTACHMENT_NAME = "plan.json"
HASH_RE = re.compile(r"[0-9a-f]{64}")
#: Plan columns shown as group headings instead of table columns.
GROUPED_COLUMNS = {"objective", "action_field"}
#: Width of the landscape action table (A4 landscape less the page margins), in mm.
ACTION_TABLE_MM = 271.0
#: Per standard action column: the narrowest width (mm) that keeps its usual words and
#: header whole at 7.5 pt, and its share of the width left over.
ACTION_COLUMNS: dict[str, tuple[float, float]] = {
    "ref": (11, 0),
    "activity": (30, 4),
    "cycle_phase": (20, 0.3),
    "sector": (19, 0.5),
    "lead": (22, 1),
    "partners": (24, 2),
    "level": (16, 0),
    "geography": (16, 0.5),
    "start": (17, 0),
    "due": (17, 0),
    "budget": (18, 0.5),
    "indicator": (20, 1.5),
    "baseline": (16, 0.5),
    "target": (16, 0.5),
    "verification": (21, 1),
    "risks": (21, 1.5),
    "review_date": (17, 0),
    "status": (14, 0),
}
CUSTOM_COLUMN = (17.0, 1.0)
#: Columns the monitoring framework (section 8) shows, by ref, rather than the action table.
MONITORING_COLUMNS = ("indicator", "baseline", "target", "verification", "review_date")
#: An action-table cell left empty where the plan needs a value.
CELL_GAPS = {"lead": N_("No lead"), "indicator": N_("No indicator"), "due": N_("No date")}


# -- no fetching -----------------------------------------------------------------------------


class ExternalResourceError(ValueError):
    """The document asked for a resource outside itself; the PDF never fetches one."""


class LocalOnlyURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that refuses every URL except inline ``data:`` URIs.

    Nothing in the plan PDF comes from a file or the network: fonts are system fonts
    named by family and the stakeholder map is inline SVG. Refusing is fatal, so a
    template that ever references something outside the document fails loudly.
    """

    def __init__(self) -> None:
        super().__init__(allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme != "data":
            shown = url if len(url) <= 120 else url[:117] + "..."
            raise ExternalResourceError(
                f"The plan PDF refuses to fetch {shown!r}: only inline data: URIs are allowed."
            )
        return super().fetch(url, headers)


# -- rendering -------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)  # noqa: S701
    env.filters["when"] = format_time
    env.filters["day"] = format_date
    env.filters["pct"] = lambda share: f"{share:.0%}"
    env.filters["dir"] = dir_attribute
    env.globals["swatch"] = mark_swatch
    env.globals["html_fill"] = html_fill
    return env


#: Faces bundled with the app for scripts the system fonts may lack (Urdu): weight, file.
BUNDLED_FACES = {
    "Noto Naskh Arabic": (
        (400, "NotoNaskhArabic-Regular.ttf"),
        (700, "NotoNaskhArabic-Bold.ttf"),
    )
}
FONTS = TEMPLATES.parent / "static" / "fonts"
ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


@cache
def _bundled_faces() -> CSS:
    """The bundled faces as ``@font-face`` rules with the files inline (``data:``), so
    the PDF fetches nothing; parsed once per process."""
    rules = []
    for family, faces in BUNDLED_FACES.items():
        for weight, name in faces:
            data = base64.b64encode((FONTS / name).read_bytes()).decode("ascii")
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
                f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}'
            )
    return CSS(
        string="\n".join(rules), url_fetcher=LocalOnlyURLFetcher(), font_config=_font_config()
    )


@cache
def _font_config() -> FontConfiguration:
    """One font configuration per process, holding the bundled faces once loaded."""
    return FontConfiguration()


def _needs_bundled_faces(lang: str, html: str) -> bool:
    return lang == "ur" or bool(ARABIC_SCRIPT.search(html))


@cache
def _stylesheet() -> CSS:
    """The print stylesheet, parsed once per process (the render service's children
    inherit it parsed)."""
    css = (TEMPLATES / "pdf" / "plan.css").read_text("utf-8")
    return CSS(string=css, url_fetcher=LocalOnlyURLFetcher())


def render_plan_html(
    plan: Mapping[str, Any],
    digest: str,
    signatures: Sequence[Mapping[str, Any]],
    *,
    generated_at: str | None = None,
) -> str:
    """The HTML the PDF is made from (every plan text escaped)."""
    _check_digest(plan, digest)
    context = plan_context(plan, digest, signatures, generated_at=_generated(generated_at))
    return _environment().get_template("pdf/plan.html").render(context)


def render_plan_pdf(
    plan: Mapping[str, Any],
    digest: str,
    signatures: Sequence[Mapping[str, Any]],
    *,
    generated_at: str | None = None,
    processes: int = 1,
) -> bytes:
    """The plan as a PDF, with its canonical JSON attached as ``plan.json``.

    ``digest`` must be the SHA-256 hex of the plan's canonical bytes; the PDF prints it
    on every page, so a mismatch is refused rather than filed. ``generated_at`` (ISO
    8601, default now) is shown on the cover and dates the PDF and its attachment, so
    the same inputs give the same document. With ``processes`` over 1 the chapters are
    laid out on that many forked processes (:mod:`facilitator.documents.parts`): only for a
    single-threaded caller, such as the render service's child.
    """
    moment = _generated(generated_at)
    html = render_plan_html(plan, digest, signatures, generated_at=moment.isoformat())
    fetcher = LocalOnlyURLFetcher()
    attachment = Attachment(
        string=canonical_bytes(plan),
        name=ATTACHMENT_NAME,
        description=f"Canonical plan, version {plan.get('version')}, SHA-256 {digest}",
        created=moment,
        modified=moment,
        relationship="Source",
        url_fetcher=fetcher,
    )
    lang = (plan.get("workshop") or {}).get("language") or i18n.DEFAULT
    sheets = [_stylesheet()]
    if _needs_bundled_faces(lang, html):
        sheets.insert(0, _bundled_faces())

    def render(root: ElementTree.Element, extra: list[CSS]) -> Any:
        return _document(root, fetcher).render(
            stylesheets=[*sheets, *extra], font_config=_font_config()
        )

    identifier = digest[:32].encode()
    try:
        if processes > 1 and hasattr(os, "fork"):
            pdf = pdf_parts.render_in_parts(_tree(html), render, attachment, identifier, processes)
        else:
            document = render(_tree(html), [])
            pdf = document.write_pdf(attachments=[attachment], pdf_identifier=identifier)
    except FatalURLFetchingError as error:
        raise ExternalResourceError(str(error.__cause__ or error)) from error
    assert isinstance(pdf, bytes)
    return pdf


class _PlanHTML(HTML):
    """WeasyPrint's HTML document with the lighter user-agent stylesheet of :func:`_ua`."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [_ua()]


#: WeasyPrint's user-agent rules that give every element pseudo-elements to style.
UNIVERSAL_PSEUDO = re.compile(r"^::(?:footnote|note)-[a-z]+ \{[^}]*\}\n", re.MULTILINE)


@cache
def _ua() -> CSS:
    """WeasyPrint's HTML stylesheet for the plan: its universal ``::marker``,
    ``::footnote-*`` and ``::note-*`` rules gave each of the plan's thousands of
    elements six pseudo-element styles to compute, a tenth of the whole render. The
    plan has no footnotes and its only list items are ``li``."""
    text = (files("weasyprint.css") / "html5_ua.css").read_text("utf-8")
    trimmed = UNIVERSAL_PSEUDO.sub("", text).replace("\n::marker {", "\nli::marker {")
    if trimmed.count("::footnote-") or "\nli::marker {" not in trimmed:
        return UA_STYLESHEET  # another WeasyPrint's stylesheet: use it as it is
    # Its @counter-style rules are in WeasyPrint's own counter styles already, which
    # every document starts from: parsed into a set of their own, they are not redefined.
    return CSS(string=trimmed, counter_style=CounterStyle())


def _tree(html: str) -> ElementTree.Element:
    """The document's tree, parsed by the C XML parser when it can be.

    The template is written as well-formed XHTML (void elements closed, explicit
    ``tbody``) so the tree is the one the HTML parser builds; parsing 300 kB of it in
    pure Python (WeasyPrint's own HTML parser) costs a tenth of the whole render. Text
    the XML parser refuses (such as a control character in a plan text) goes the
    HTML parser's way.
    """
    try:
        return ElementTree.fromstring(html)  # noqa: S314 - our template's output, no DTD
    except ElementTree.ParseError:
        return HTML(string=html).etree_element


def _document(root: ElementTree.Element, fetcher: URLFetcher) -> HTML:
    """The WeasyPrint document of a parsed tree."""
    document = _PlanHTML.__new__(_PlanHTML)
    document.base_url = None
    document.url_fetcher = fetcher
    document.media_type = "print"
    document.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
    document.etree_element = document.wrapper_element.etree_element
    return document


def embedded_plan(pdf_bytes: bytes) -> bytes | None:
    """The bytes of the ``plan.json`` attached to a plan PDF, or None when the input is
    not a PDF or has no such attachment. Never raises on bad input."""
    try:
        data = bytes(pdf_bytes)
        if b"%PDF-" not in data[:1024]:
            return None
        files = PdfReader(BytesIO(data), strict=False).attachments.get(ATTACHMENT_NAME)
        if not files:
            return None
        content = files[0]
        return bytes(content) if isinstance(content, bytes | bytearray) else None
    except Exception:  # any malformed input means "no plan"
        return None


def _check_digest(plan: Mapping[str, Any], digest: str) -> None:
    if not isinstance(digest, str) or not HASH_RE.fullmatch(digest):
        raise ValueError("The digest must be 64 lower-case hex characters (SHA-256).")
    if hashlib.sha256(canonical_bytes(plan)).hexdigest() != digest:
        raise ValueError("The digest is not the SHA-256 of this plan's canonical bytes.")


def _generated(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- formatting ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def format_date(value: Any) -> str:
    """``2026-11-22`` as ``22 November 2026``; anything else as given."""
    text = _text(value)
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return text
    return f"{day.day} {day:%B %Y}"


def format_time(value: Any) -> str:
    """An ISO timestamp as ``22 Nov 2026, 14:03 UTC``; anything else as given."""
    text = _text(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def format_amount(amount: Any) -> str:
    """``1200000`` as ``1,200,000``; anything that is not a number as given."""
    text = _text(amount)
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"


def _key(name: Any) -> str:
    return " ".join(_text(name).split()).casefold()


def dir_attribute(value: Any, document_dir: str = "ltr") -> Markup:
    """`` dir="..."`` for an element holding text as typed, when the text runs the other
    way from the document: WeasyPrint does not implement ``dir="auto"``."""
    found = text_direction(value)
    if found and found != document_dir:
        return Markup(f' dir="{found}"')  # noqa: S704 - one of two fixed words
    return Markup("")


def html_fill(text: str, **values: Any) -> Markup:
    """A translated ``text`` (``_("...")`` without values) escaped, with values put in by
    name: markup values (a file name in its typeface) as they are, any other escaped. The
    translator sees ``{name}`` and never the markup."""
    # Split at the placeholders (odd parts are names): each filled once, escaped.
    parts = i18n.VALUE.split(str(text))
    return Markup("").join(
        escape_html(values[part])
        if i % 2 and part in values
        else escape_html("{" + part + "}" if i % 2 else part)
        for i, part in enumerate(parts)
    )


# -- the document's parts --------------------------------------------------------------------


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
    org_names = [_text(o.get("name")) for o in organisations]
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
    order = {_key(s): i for i, s in enumerate(sectors)}
    groups: dict[str, dict[str, Any]] = {}
    for org in organisations:
        given = _text(org.get("sector"))
        sector = given or N_("Sector not given")
        shown = i18n.kit_text(lang, given) if given else i18n.gettext(lang, sector)
        group = groups.setdefault(_key(sector), {"sector": shown, "organisations": []})
        names = [_text(p.get("name")) for p in org.get("participants") or []]
        group["organisations"].append({"name": _text(org.get("name")), "participants": names})
    ordered = sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    for _, group in ordered:
        group["organisations"].sort(key=lambda o: o["name"].casefold())
    present = set(groups)
    return {
        "groups": [g for _, g in ordered],
        "organisations": len(organisations),
        "participants": sum(len(o.get("participants") or []) for o in organisations),
        "missing_sectors": [i18n.kit_text(lang, s) for s in sectors if _key(s) not in present],
        "sectors_present": sum(1 for s in sectors if _key(s) in present),
        "sectors": len(sectors),
    }


def agenda(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Agenda items in the agreed order, with their dots as a share of the most dots."""
    most = max((int(i.get("dots") or 0) for i in items), default=0)
    return [
        {
            "title": _text(item.get("title")),
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
            "label": i18n.kit_text(lang, _text(r.get("label"))),
            "count": int(r.get("count") or 0),
            "share": (int(r.get("count") or 0) / turnout) if turnout else 0.0,
        }
        for r in item.get("tally_rows") or []
    ]
    return {
        "title": _text(item.get("title")),
        "proposal": _text(item.get("proposal")),
        "round": item.get("round"),
        "method": i18n.kit_text(lang, _text(item.get("method_label") or item.get("method"))),
        "rule": i18n.kit_text(lang, _text(item.get("rule_text"))),
        "anonymous": bool(item.get("anonymous")),
        "outcome": i18n.gettext(
            lang, {True: N_("Decided"), False: N_("Not decided")}.get(decided, N_("No decision"))
        ),
        "outcome_class": {True: "yes", False: "no"}.get(decided, "none"),
        "explanation": _text(item.get("explanation")),
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
                    "decision": _text(item.get("title")),
                    "choice": i18n.kit_text(lang, _text(reason.get("choice"))),
                    "reason": _text(reason.get("reason")),
                    "name": "" if anonymous else _text(reason.get("name")),
                    "anonymous": anonymous,
                }
            )
    return register


def stakeholder_map(spec: Mapping[str, Any], *, lang: str = i18n.DEFAULT) -> dict[str, Any]:
    """The power/interest grid as inline SVG, and the legend rows for its numbered dots."""
    scale = float(spec.get("scale_max") or 10) or 10.0
    quadrant_names = {
        key: i18n.kit_text(lang, _text(name)) for key, name in (spec.get("quadrants") or {}).items()
    }
    stakeholders = list(spec.get("stakeholders") or [])
    legend = [
        {
            "number": n,
            "name": _text(s.get("name")),
            "category": i18n.kit_text(lang, _text(s.get("category"))),
            "sector": i18n.kit_text(lang, _text(s.get("sector"))),
            "quadrant": _text(quadrant_names.get(s.get("quadrant"), s.get("quadrant"))),
            "power": s.get("power"),
            "interest": s.get("interest"),
        }
        for n, s in enumerate(stakeholders, start=1)
    ]
    svg, labels = map_svg(scale, quadrant_names, stakeholders, lang)
    return {"svg": svg, "labels": labels, "legend": legend}


def _choices(plan: Mapping[str, Any], lang: str = i18n.DEFAULT) -> dict[str, dict[str, str]]:
    """Names of the kit's choices (in ``lang``), per action column that stores an id."""
    return {
        column: {
            _text(o.get("id")): i18n.kit_text(lang, _text(o.get("name")))
            for o in plan.get(key) or []
        }
        for column, key in (("action_field", "action_fields"), ("cycle_phase", "cycle_phases"))
    }


def _cell(
    action: Mapping[str, Any],
    column: str,
    choices: Mapping[str, Mapping[str, str]],
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """One action-table cell: its lines of text and a class marking gaps.

    Standard columns are the action's own keys; any other column is the kit's own and
    lives in ``action["custom"]``. The kit's names (sectors, levels) and the app's words
    are in ``lang``; what people typed is as typed."""
    if column == "budget":
        budget = action.get("budget") or {}
        amount = format_amount(budget.get("amount"))
        money = " ".join(t for t in (_text(budget.get("currency")), amount) if t)
        source = _text(budget.get("source"))
        return {"lines": [t for t in (money if amount else "", source) if t], "cls": "budget"}
    raw = action[column] if column in action else (action.get("custom") or {}).get(column)
    if isinstance(raw, list | tuple):
        value = "; ".join(_text(item) for item in raw if _text(item))
    elif column in choices:
        value = choices[column].get(_text(raw), _text(raw))
    elif column == "status":
        status = _text(raw)
        value = (
            i18n.gettext(lang, STATUSES[status])
            if status in STATUSES
            else status.replace("_", " ").capitalize()
        )
    elif column in ("sector", "level"):
        value = i18n.kit_text(lang, _text(raw))
    else:
        value = _text(raw)
    if not value and column in CELL_GAPS:
        return {"lines": [i18n.gettext(lang, CELL_GAPS[column])], "cls": "gap"}
    return {"lines": [value] if value else [], "cls": column if column == "ref" else ""}


def action_plan(plan: Mapping[str, Any], *, lang: str = i18n.DEFAULT) -> dict[str, Any]:
    """Actions grouped by objective, then action field, with the plan's columns (their
    labels, the kit's, in ``lang``)."""
    choices = _choices(plan, lang)
    fields = choices["action_field"]
    columns = [
        {
            "id": _text(c.get("id")),
            "label": i18n.kit_text(lang, _text(c.get("label"))) or _text(c.get("id")),
        }
        for c in plan.get("columns") or []
        if _text(c.get("id")) not in GROUPED_COLUMNS
    ]
    if not any(c["id"] == "ref" for c in columns):
        columns.insert(0, {"id": "ref", "label": i18n.gettext(lang, N_("Ref"))})
    columns, moved = _fit_columns(columns)
    no_objective = i18n.gettext(lang, N_("No objective given"))
    no_field = i18n.gettext(lang, N_("No action field"))
    groups: list[dict[str, Any]] = []
    for action in plan.get("actions") or []:
        objective = _text(action.get("objective")) or no_objective
        field_id = _text(action.get("action_field"))
        field = fields.get(field_id, field_id) or no_field
        if not groups or groups[-1]["objective"] != objective:
            groups.append({"objective": objective, "fields": [], "count": 0})
        group = groups[-1]
        if not group["fields"] or group["fields"][-1]["name"] != field:
            group["fields"].append({"name": field, "actions": []})
        group["count"] += 1
        group["fields"][-1]["actions"].append(
            [_cell(action, c["id"], choices, lang) for c in columns]
        )
    return {
        "columns": columns,
        "groups": groups,
        "count": len(plan.get("actions") or []),
        "budgets": _budget_totals(plan.get("actions") or [], lang),
        "show_budget": any(c["id"] == "budget" for c in columns),
        "moved": moved,
    }


def _fit_columns(columns: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Widths (per cent of the table) for the action columns, and the labels of the
    monitoring columns, which the monitoring framework (section 8) shows instead.

    Each fact is printed once: the action table says who does what, when and with
    what; section 8 says how progress is measured, by ref. Two columns fewer leave
    the activity its width (and the document a tenth quicker to render).
    """
    moved = [c["label"] for c in columns if c["id"] in MONITORING_COLUMNS]
    columns = [c for c in columns if c["id"] not in MONITORING_COLUMNS]

    def spec(column: dict[str, Any]) -> tuple[float, float]:
        return ACTION_COLUMNS.get(column["id"], CUSTOM_COLUMN)

    least = sum(spec(c)[0] for c in columns)
    spare = max(ACTION_TABLE_MM - least, 0.0)
    flex = sum(spec(c)[1] for c in columns) or 1.0
    for column in columns:
        minimum, share = spec(column)
        width = minimum + spare * share / flex
        column["width"] = round(100 * width / max(least + spare, ACTION_TABLE_MM), 2)
        column["cls"] = column["id"] if column["id"] in ACTION_COLUMNS else "custom"
    return columns, moved


def _budget_totals(
    actions: Iterable[Mapping[str, Any]], lang: str = i18n.DEFAULT
) -> dict[str, Any]:
    totals: dict[str, Decimal] = {}
    uncosted = 0
    for action in actions:
        budget = action.get("budget") or {}
        try:
            amount = Decimal(_text(budget.get("amount")).replace(",", ""))
        except InvalidOperation:
            uncosted += 1
            continue
        if not amount.is_finite():
            uncosted += 1
            continue
        currency = _text(budget.get("currency")) or i18n.gettext(lang, N_("(no currency)"))
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return {
        "totals": [f"{c} {format_amount(v)}" for c, v in sorted(totals.items())],
        "uncosted": uncosted,
    }


def accountability_view(
    actions: Sequence[Mapping[str, Any]],
    organisations: Sequence[Mapping[str, Any]],
    *,
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """The organisation x action matrix (in blocks of refs), and the ownership table."""
    names = [_text(o.get("name")) for o in organisations]
    in_room = {_key(n) for n in names}
    sector_of = {
        _key(o.get("name")): i18n.kit_text(lang, _text(o.get("sector"))) for o in organisations
    }
    owners = accountability.ownership(actions, names)
    refs = [_text(a.get("ref")) for a in actions]
    leaderless = {_text(a.get("ref")) for a in actions if not _text(a.get("lead"))}
    rows = [(owner["organisation"], set(owner["lead"]), set(owner["support"])) for owner in owners]
    no_lead = i18n.gettext(lang, N_("No lead"))
    chunks = [
        rows[start : start + MATRIX_ROWS_PER_BLOCK]
        for start in range(0, len(rows), MATRIX_ROWS_PER_BLOCK)
    ] or [[]]
    rtl = i18n.direction(lang) == "rtl"
    blocks = [
        matrix_block(
            refs[start : start + MATRIX_REFS_PER_BLOCK],
            chunk,
            leaderless,
            no_lead if chunk is chunks[-1] else None,
            rtl=rtl,
        )
        for start in range(0, len(refs), MATRIX_REFS_PER_BLOCK)
        for chunk in chunks
    ]
    ownership_rows = [
        {
            "organisation": owner["organisation"],
            "sector": sector_of.get(_key(owner["organisation"]), ""),
            "in_room": _key(owner["organisation"]) in in_room,
            "lead": len(owner["lead"]),
            "support": len(owner["support"]),
            "share": owner["lead_share"],
        }
        for owner in owners
    ]
    top = max((r["share"] for r in ownership_rows), default=0.0)
    for row in ownership_rows:
        row["bar"] = round(100 * row["share"] / top, 1) if top else 0
    return {"blocks": blocks, "ownership": ownership_rows, "actions": len(actions)}


def monitoring_row(action: Mapping[str, Any]) -> dict[str, Any]:
    """The monitoring-framework fields of one action, as text."""
    return {key: _text(action.get(key)) for key in ("ref", *MONITORING_COLUMNS, "due")}


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
    for signature in sorted(signatures, key=lambda s: _text(s.get("signed_at"))):
        by_org.setdefault(_key(signature.get("organisation")), []).append(signature)
    sector_of = {
        _key(o.get("name")): i18n.kit_text(lang, _text(o.get("sector"))) for o in organisations
    }
    order = [n for n in names if n]
    listed = {_key(n) for n in order}
    for signature in signatures:
        name = _text(signature.get("organisation"))
        if _key(name) not in listed:
            listed.add(_key(name))
            order.append(name)
    rows = []
    counts = {"endorse": 0, "endorse_with_reservations": 0, "decline": 0, "unsigned": 0}
    for name in order:
        signed = by_org.get(_key(name)) or []
        if not signed:
            counts["unsigned"] += 1
            rows.append(
                {"organisation": name, "sector": sector_of.get(_key(name), ""), "signed": False}
            )
        for signature in signed:
            kind = _text(signature.get("decision"))
            counts[kind] = counts.get(kind, 0) + 1
            rows.append(
                {
                    "organisation": name,
                    "sector": sector_of.get(_key(name), ""),
                    "signed": True,
                    "listed": _key(name) in {_key(n) for n in names},
                    "representative": _text(signature.get("representative")),
                    "title": _text(signature.get("title")),
                    "decision": (
                        i18n.gettext(lang, DECISIONS[kind])
                        if kind in DECISIONS
                        else kind or i18n.gettext(lang, N_("Unknown"))
                    ),
                    "kind": kind,
                    "text": _text(signature.get("text")),
                    "signed_at": signature.get("signed_at"),
                }
            )
    return {"rows": rows, "counts": counts}
