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
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import cssselect2
from jinja2 import Environment, FileSystemLoader
from pypdf import PdfReader
from weasyprint import CSS, HTML, Attachment
from weasyprint.css.counters import CounterStyle
from weasyprint.html import UA_STYLESHEET
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from facilitator.core import i18n
from facilitator.documents import parts as pdf_parts
from facilitator.documents.drawings import (
    mark_swatch,
)
from facilitator.documents.formatting import (
    dir_attribute,
    format_date,
    format_time,
    html_fill,
)
from facilitator.documents.plan_context import plan_context
from facilitator.domain.canonical import canonical_bytes

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ATTACHMENT_NAME = "plan.json"
HASH_RE = re.compile(r"[0-9a-f]{64}")


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


# -- the document's parts --------------------------------------------------------------------
