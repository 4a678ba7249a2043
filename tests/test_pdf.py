"""The plan PDF: real renders, read back with pypdf.

One small plan (with hostile text typed into an activity and a participant's name) is
rendered once for the module; a 300-action plan and a few tiny plans are rendered by
the tests that need them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from facilitator.documents import action_table, pdf
from facilitator.documents.drawings import (
    MATRIX_CELL_W,
    MATRIX_HEAD_H,
    MATRIX_ORG_W,
    MATRIX_ROW_H,
    matrix_block,
)
from facilitator.documents.pdf import (
    ExternalResourceError,
    LocalOnlyURLFetcher,
    canonical_bytes,
    embedded_plan,
    render_plan_html,
    render_plan_pdf,
)
from facilitator.domain import accountability

from .plan_sample import sample_plan, sample_signatures

GENERATED = "2026-11-22T16:30:00Z"
SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>x</b>"
IMG = '<img src="file:///etc/passwd">'


def digest_of(plan: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(plan)).hexdigest()


def squash(text: str) -> str:
    """Text without any whitespace: table cells wrap lines wherever they like."""
    return "".join(text.split())


@dataclass
class Rendered:
    plan: dict[str, Any]
    digest: str
    signatures: list[dict[str, Any]]
    pdf: bytes
    pages: list[str]
    logged: list[logging.LogRecord]

    @property
    def text(self) -> str:
        return squash("\n".join(self.pages))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(data)).pages]


def bookmarks(reader: PdfReader) -> dict[str, int]:
    """Top-level PDF bookmarks (the section headings) and their page indexes."""
    return {
        item.title: reader.get_destination_page_number(item)
        for item in reader.outline
        if not isinstance(item, list)
    }


def tiny_plan() -> dict[str, Any]:
    """A plan small enough to render in about a second."""
    plan = sample_plan(3, stakeholders=3, decisions=1)
    plan["organisations"] = plan["organisations"][:4]
    return plan


def hostile_plan() -> dict[str, Any]:
    plan = sample_plan(12, stakeholders=14, decisions=4, seed=3)
    plan["actions"][1]["activity"] = f"Train supervisors {SCRIPT} and {BOLD} then {IMG} done"
    plan["organisations"][3]["participants"].append({"name": f"Dr {SCRIPT} {BOLD}"})
    return plan


@pytest.fixture(scope="module")
def rendered() -> Iterator[Rendered]:
    plan = hostile_plan()
    signatures = sample_signatures(plan)
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        data = render_plan_pdf(plan, digest_of(plan), signatures, generated_at=GENERATED)
    finally:
        logger.removeHandler(handler)
    yield Rendered(plan, digest_of(plan), signatures, data, page_texts(data), handler.records)


# -- content -------------------------------------------------------------------------------


def test_every_action_ref_and_activity_is_in_the_text(rendered: Rendered) -> None:
    for action in rendered.plan["actions"]:
        assert squash(action["activity"]) in rendered.text, action["ref"]
        assert re.search(rf"\b{action['ref']}\b", "\n".join(rendered.pages)), action["ref"]


def test_every_signatory_and_the_unsigned_organisation_are_on_the_signoff(
    rendered: Rendered,
) -> None:
    signed = {s["organisation"] for s in rendered.signatures}
    unsigned = [o["name"] for o in rendered.plan["organisations"] if o["name"] not in signed]
    assert unsigned, "the sample leaves one organisation unsigned"
    start = next(i for i, t in enumerate(rendered.pages) if "We,theundersigned" in squash(t))
    signoff = squash("\n".join(rendered.pages[start : start + 3]))
    for signature in rendered.signatures:
        assert squash(signature["representative"]) in signoff
        assert squash(signature["organisation"]) in signoff
    for name in unsigned:
        assert squash(name) in signoff
    for label in ("Endorsed", "Endorsedwithreservations", "Declined", "Notsigned"):
        assert label in signoff
    declined = next(s for s in rendered.signatures if s["decision"] == "decline")
    assert squash(declined["text"]) in signoff
    # The declaration's table holds those who endorsed; a decline and those who did
    # not sign are listed after it, under their own headings.
    endorsed, _, rest = signoff.partition("Declined" + "Organisation")
    assert rest, "a Declined section with its own table"
    assert squash(declined["organisation"]) not in endorsed
    assert squash(declined["organisation"]) in rest
    for signature in rendered.signatures:
        if signature["decision"] != "decline":
            assert squash(signature["organisation"]) in endorsed
    assert all(squash(name) not in endorsed for name in unsigned)


def test_full_hash_on_cover_signoff_and_every_page(rendered: Rendered) -> None:
    pages = [squash(t) for t in rendered.pages]
    assert rendered.digest in pages[0]
    signoff = next(p for p in pages if "We,theundersigned" in p)
    assert rendered.digest in signoff
    for number, page in enumerate(pages, start=1):
        assert rendered.digest in page, f"page {number} lacks the hash"


def test_every_page_says_page_x_of_n(rendered: Rendered) -> None:
    total = len(rendered.pages)
    assert total > 5
    assert f"Page 1 of {total}" in rendered.pages[0]
    for number, text in enumerate(rendered.pages, start=1):
        assert f"Page {number} of {total}" in text


def test_landscape_pages_carry_the_action_table(rendered: Rendered) -> None:
    reader = PdfReader(BytesIO(rendered.pdf))
    sizes = [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    ]
    assert sizes[0] == (595, 842)  # A4 portrait
    landscape = [i for i, size in enumerate(sizes) if size == (842, 595)]
    assert landscape
    first = bookmarks(reader)["6 Action plan"]
    assert first in landscape
    header = squash("Ref Activity Expected output Lead (accountable)")
    assert header in squash(rendered.pages[first])
    assert bookmarks(reader)["7 Accountability"] in landscape


def test_only_the_plan_columns_are_shown(rendered: Rendered) -> None:
    labels = [c["label"] for c in rendered.plan["columns"]]
    assert "Expected output" in labels  # a kit column, read from action["custom"]
    for action in rendered.plan["actions"]:
        assert squash(action["custom"]["output"]) in rendered.text
    risks = {a["risks"] for a in rendered.plan["actions"] if a["risks"]}
    assert risks
    for risk in risks:  # "risks" is not a column of this plan
        assert squash(risk) not in rendered.text


def test_stakeholder_map_and_legend(rendered: Rendered) -> None:
    html = render_plan_html(
        rendered.plan, rendered.digest, rendered.signatures, generated_at=GENERATED
    )
    stakeholders = rendered.plan["stakeholder_map"]["stakeholders"]
    figure = html.split('<figure class="map">', 1)[1].split("</figure>", 1)[0]
    assert figure.count("<circle") == len(stakeholders)
    for item in stakeholders:
        assert squash(item["name"]) in rendered.text
    for label in rendered.plan["stakeholder_map"]["quadrants"].values():
        assert squash(label) in rendered.text


def test_decisions_and_register_of_dissent(rendered: Rendered) -> None:
    for decision in rendered.plan["decisions"]:
        assert squash(decision["title"]) in rendered.text
        assert squash(decision["explanation"]) in rendered.text
        for reason in decision["reasons"]:
            assert squash(reason["reason"]) in rendered.text
            if not decision["anonymous"]:
                assert squash(reason["name"]) in rendered.text
    assert "Registerofreservationsanddissent" in rendered.text
    assert "Nodecision" in rendered.text  # the sample's last round had no ballots


def test_agenda_in_order(rendered: Rendered) -> None:
    positions = [rendered.text.index(squash(item["title"])) for item in rendered.plan["agenda"]]
    assert positions == sorted(positions)


def test_override_notice_with_reason_and_missing_items(rendered: Rendered) -> None:
    override = rendered.plan["override"]
    assert override and override["missing"]
    cover = squash(rendered.pages[0])
    assert "FROZENWITHGAPS" in cover
    assert squash(override["reason"]) in cover
    for item in override["missing"]:
        assert squash(item) in rendered.text


def test_accountability_gaps_and_ownership(rendered: Rendered) -> None:
    gaps = accountability.gaps(
        rendered.plan["actions"],
        [o["name"] for o in rendered.plan["organisations"]],
        rendered.plan["sectors"],
    )
    assert gaps["no_lead"] and gaps["organisations_leading_nothing"]
    assert gaps["sectors_without_action"]
    text = rendered.text
    assert squash(", ".join(gaps["no_lead"])) in text
    assert squash("; ".join(gaps["organisations_leading_nothing"])) in text
    assert squash("; ".join(gaps["sectors_without_action"])) in text
    assert "Shareofactionsled" in text


def test_the_matrix_names_every_organisation_on_an_action_and_marks_the_leaderless(
    rendered: Rendered,
) -> None:
    reader = PdfReader(BytesIO(rendered.pdf))
    first = bookmarks(reader)["7 Accountability"]
    matrix = squash(rendered.pages[first])
    named = {a["lead"] for a in rendered.plan["actions"] if a.get("lead")}
    named |= {p for a in rendered.plan["actions"] for p in a.get("partners") or []}
    assert named
    for organisation in named:
        assert squash(organisation) in matrix, organisation
    assert "Organisation" in matrix and "Nolead" in matrix
    assert "".join(a["ref"] for a in rendered.plan["actions"]) in matrix  # the header


def test_matrix_blocks_hold_30_refs_and_32_organisations_and_one_leaderless_row() -> None:
    refs = [f"A{i}" for i in range(1, 41)]
    rows = [(f"Org {i}", {refs[i]}, {refs[i + 1]}) for i in range(36)]
    actions = [
        {"ref": r, "lead": f"Org {i}" if i < 36 else "", "partners": []} for i, r in enumerate(refs)
    ]
    organisations = [{"name": name} for name, _, _ in rows]
    blocks = action_table.accountability_view(actions, organisations)["blocks"]
    # refs 1-30 then 31-40, each for organisations 1-32 then 33-36 and the last row
    assert [len(b["labels"]) for b in blocks] == [32, 5, 32, 5]
    assert [b["labels"][-1]["no_lead"] for b in blocks] == [False, True, False, True]
    assert blocks[1]["labels"][-1]["text"] == "No lead"
    svg = ElementTree.fromstring(str(blocks[3]["svg"]))
    refs_drawn = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert refs_drawn == refs[30:]
    assert blocks[0]["height"] == pytest.approx(MATRIX_HEAD_H + 32 * MATRIX_ROW_H)


def test_matrix_marks_are_drawn_in_their_cells() -> None:
    block = matrix_block(["A1", "A2", "A3"], [("Org", {"A2"}, {"A3"})], {"A1"})
    paths = {
        p.get("fill"): p.get("d")
        for p in ElementTree.fromstring(str(block["svg"])).iter("{http://www.w3.org/2000/svg}path")
    }
    x0, w, y0, h = MATRIX_ORG_W, MATRIX_CELL_W, MATRIX_HEAD_H, MATRIX_ROW_H
    assert paths["#1f4e79"] == f"M{x0 + w:.2f} {y0:.2f}h{w}v{h}h-{w}z"  # lead: row 1, A2
    assert paths["#dde6ef"] == f"M{x0 + 2 * w:.2f} {y0:.2f}h{w}v{h}h-{w}z"  # support: A3
    assert paths["#fbf1f1"] == f"M{x0:.2f} {y0 + h:.2f}h{w}v{h}h-{w}z"  # no lead: A1


def test_no_warnings_from_weasyprint(rendered: Rendered) -> None:
    assert [r.getMessage() for r in rendered.logged] == []


def test_pdf_metadata_title(rendered: Rendered) -> None:
    meta = PdfReader(BytesIO(rendered.pdf)).metadata
    assert meta is not None and meta.title
    assert rendered.plan["workshop"]["title"] in meta.title
    assert "version 2" in meta.title


# -- the attached plan -----------------------------------------------------------------------


def test_attached_plan_is_the_canonical_plan(rendered: Rendered) -> None:
    attached = embedded_plan(rendered.pdf)
    assert attached == canonical_bytes(rendered.plan)
    assert hashlib.sha256(attached).hexdigest() == rendered.digest
    assert json.loads(attached) == rendered.plan


def test_a_changed_byte_in_the_attachment_breaks_the_plan(rendered: Rendered) -> None:
    match = re.search(rb"/Type\s*/EmbeddedFile.*?stream\r?\n", rendered.pdf, re.S)
    assert match
    end = rendered.pdf.index(b"endstream", match.end())
    position = (match.end() + end) // 2
    tampered = bytearray(rendered.pdf)
    tampered[position] ^= 0x01
    result = embedded_plan(bytes(tampered))
    assert result != canonical_bytes(rendered.plan)
    assert result is None or hashlib.sha256(result).hexdigest() != rendered.digest


@pytest.mark.parametrize(
    "data",
    [b"garbage", b"", b"%PDF-1.7\n%garbage\n", b"%PDF-1.4\n" + b"\x00" * 200, b"\xff" * 5000],
)
def test_embedded_plan_of_garbage_is_none(data: bytes) -> None:
    assert embedded_plan(data) is None


def test_embedded_plan_of_a_truncated_or_plain_pdf_is_none(rendered: Rendered) -> None:
    assert embedded_plan(rendered.pdf[: len(rendered.pdf) // 3]) in (
        None,
        canonical_bytes(rendered.plan),
    )
    plain = HTML(string="<p>No attachment here.</p>").write_pdf()
    assert embedded_plan(plain) is None


def test_digest_must_match_the_plan() -> None:
    plan = sample_plan(2, stakeholders=2, decisions=1)
    with pytest.raises(ValueError, match="not the SHA-256"):
        render_plan_pdf(plan, "0" * 64, [])
    with pytest.raises(ValueError, match="64 lower-case hex"):
        render_plan_pdf(plan, digest_of(plan).upper(), [])


# -- escaping and fetching ----------------------------------------------------------------------


def test_markup_typed_into_the_plan_is_printed_as_text(rendered: Rendered) -> None:
    text = rendered.text
    assert squash(f"Train supervisors {SCRIPT} and {BOLD} then {IMG} done") in text
    assert squash(f"Dr {SCRIPT} {BOLD}") in text
    html = render_plan_html(
        rendered.plan, rendered.digest, rendered.signatures, generated_at=GENERATED
    )
    assert "<script" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "  file:///etc/passwd",
        "http://example.org/logo.png",
        "https://example.org/font.woff2",
        "ftp://example.org/x",
        "//example.org/x.css",
        "plan.css",
        "/etc/passwd",
        "javascript:alert(1)",
    ],
)
def test_the_fetcher_refuses_everything_but_data_uris(url: str) -> None:
    with pytest.raises(ExternalResourceError, match="refuses to fetch"):
        LocalOnlyURLFetcher()(url)


def test_the_fetcher_serves_data_uris() -> None:
    response = LocalOnlyURLFetcher()("data:text/plain;base64,aGVsbG8=")
    try:
        assert response.read() == b"hello"
    finally:
        response.close()


def test_weasyprint_stops_on_a_refused_url() -> None:
    html = '<p>x</p><img src="file:///etc/passwd">'
    with pytest.raises(FatalURLFetchingError):
        HTML(string=html, url_fetcher=LocalOnlyURLFetcher()).write_pdf()


def test_render_refuses_a_template_that_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        pdf, "render_plan_html", lambda *a, **k: '<p>x</p><img src="file:///etc/passwd">'
    )
    plan = sample_plan(2, stakeholders=2, decisions=1)
    with pytest.raises(ExternalResourceError, match="file:///etc/passwd"):
        render_plan_pdf(plan, digest_of(plan), [])


def test_plan_text_with_urls_fetches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    original = LocalOnlyURLFetcher.fetch

    def spy(self: LocalOnlyURLFetcher, url: str, headers: Any = None) -> Any:
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(LocalOnlyURLFetcher, "fetch", spy)
    plan = tiny_plan()
    plan["actions"][0]["activity"] = f"See {IMG} and <link rel=attachment href=/etc/passwd>"
    plan["workshop"]["place"] = "<style>@import url(http://example.org/x.css)</style>"
    plan["stakeholder_map"]["stakeholders"][0]["name"] = '<image href="file:///etc/hosts"/>'
    data = render_plan_pdf(plan, digest_of(plan), [], generated_at=GENERATED)
    assert fetched == []
    text = squash("\n".join(page_texts(data)))
    assert squash(IMG) in text
    assert squash('<image href="file:///etc/hosts"/>') in text
    assert embedded_plan(data) == canonical_bytes(plan)


# -- scale and stability -----------------------------------------------------------------------


def test_three_hundred_actions_render() -> None:
    plan = sample_plan(300, stakeholders=10, decisions=2, seed=5)
    plan["override"] = None
    digest = digest_of(plan)
    started = time.perf_counter()
    data = render_plan_pdf(plan, digest, sample_signatures(plan), generated_at=GENERATED)
    elapsed = time.perf_counter() - started
    reader = PdfReader(BytesIO(data))
    total = len(reader.pages)
    assert total > 40
    first = reader.pages[0].extract_text()
    assert f"Page 1 of {total}" in first
    assert digest in squash(first)
    assert "FROZENWITHGAPS" not in squash(first)
    assert embedded_plan(data) == canonical_bytes(plan)
    # The last page of the action table is the one before section 7.
    before = bookmarks(reader)["7 Accountability"] - 1
    assert round(float(reader.pages[before].mediabox.width)) == 842  # landscape
    text = squash(reader.pages[before].extract_text())
    assert squash(plan["actions"][-1]["activity"]) in text and "A300" in text
    assert elapsed < 60, f"rendering 300 actions took {elapsed:.1f} s"


def test_same_inputs_same_bytes() -> None:
    plan = tiny_plan()
    signatures = sample_signatures(plan)
    first = render_plan_pdf(plan, digest_of(plan), signatures, generated_at=GENERATED)
    second = render_plan_pdf(
        copy.deepcopy(plan), digest_of(plan), signatures, generated_at=GENERATED
    )
    assert first == second


# -- the action table's columns ------------------------------------------------------------------


def test_a_plan_too_wide_for_the_page_leaves_monitoring_columns_to_section_8() -> None:
    from facilitator.domain.kits import PLAN_COLUMNS

    plan = sample_plan(4, stakeholders=2, decisions=1)
    plan["columns"] = [{"id": c, "label": label} for c, label in PLAN_COLUMNS.items()]
    table = action_table.action_plan(plan)
    ids = [c["id"] for c in table["columns"]]
    assert ids[0] == "ref" and "objective" not in ids and "action_field" not in ids
    assert not set(ids) & set(action_table.MONITORING_COLUMNS)
    assert table["moved"] == [
        "Indicator",
        "Baseline",
        "Target",
        "Means of verification",
        "Review date",
    ]
    assert abs(sum(c["width"] for c in table["columns"]) - 100) < 0.1
    for column in table["columns"]:  # no column below the width that keeps its words whole
        minimum = action_table.ACTION_COLUMNS[column["id"]][0]
        assert column["width"] * action_table.ACTION_TABLE_MM / 100 >= minimum - 0.05


def test_every_column_is_shown_once_monitoring_in_section_8() -> None:
    plan = sample_plan(4, stakeholders=2, decisions=1)
    table = action_table.action_plan(plan)
    shown = {c["id"] for c in table["columns"]}
    kept = {c["id"] for c in plan["columns"]} - action_table.GROUPED_COLUMNS
    monitoring = kept & set(action_table.MONITORING_COLUMNS)
    assert monitoring  # the sample has indicator and target columns
    assert shown == kept - monitoring
    labels = {c["id"]: c["label"] for c in plan["columns"]}
    assert table["moved"] == [labels[c] for c in labels if c in monitoring]
    assert abs(sum(c["width"] for c in table["columns"]) - 100) < 0.5


def test_cells_show_labels_not_ids() -> None:
    action = sample_plan(1, stakeholders=1, decisions=1)["actions"][0]
    action.update(
        status="in_progress",
        action_field="hr-management",
        cycle_phase="implementation",
        lead="",
        partners=["WHO", " ", "UNICEF"],
        budget={"amount": "1200000", "currency": "USD", "source": "World Bank loan"},
    )
    choices = {
        "action_field": {"hr-management": "HR Management Systems"},
        "cycle_phase": {"implementation": "Implementation"},
    }
    assert action_table._cell(action, "status", choices)["lines"] == ["In progress"]
    assert action_table._cell(action, "action_field", choices)["lines"] == ["HR Management Systems"]
    assert action_table._cell(action, "cycle_phase", choices)["lines"] == ["Implementation"]
    assert action_table._cell(action, "partners", choices)["lines"] == ["WHO; UNICEF"]
    assert action_table._cell(action, "budget", choices)["lines"] == [
        "USD 1,200,000",
        "World Bank loan",
    ]
    assert action_table._cell(action, "lead", choices) == {"lines": ["No lead"], "cls": "gap"}
    assert action_table._cell(action, "output", choices)["lines"] == [action["custom"]["output"]]
    assert action_table._cell(action, "unknown", choices)["lines"] == []


def test_an_empty_plan_renders() -> None:
    plan = sample_plan(0, stakeholders=0, decisions=0)
    plan.update(organisations=[], agenda=[], override=None)
    data = render_plan_pdf(plan, digest_of(plan), [], generated_at=GENERATED)
    pages = page_texts(data)
    assert f"Page 1 of {len(pages)}" in pages[0]
    text = squash("\n".join(pages))
    for empty in (
        "No organisation took part or signed.",
        "No participants were recorded.",
        "No stakeholders were mapped.",
        "No decisions were put to the vote.",
        "No actions.",
    ):
        assert squash(empty) in text
    assert embedded_plan(data) == canonical_bytes(plan)


def test_the_template_is_well_formed_xml_so_the_fast_parser_takes_it(rendered: Rendered) -> None:
    """The document is parsed by the C XML parser (a tenth of the render time saved);
    a template edit that breaks well-formedness would silently lose that."""
    html = render_plan_html(
        rendered.plan, rendered.digest, rendered.signatures, generated_at=GENERATED
    )
    ElementTree.fromstring(html)  # raises if it is not well-formed
    root = pdf._tree(html)
    assert root.tag == "html"
    assert root.find("body") is not None
    # The same tree the HTML parser builds: same elements in the same order.
    reference = HTML(string=html).etree_element
    assert [e.tag for e in root.iter()] == [e.tag for e in reference.iter()]


def test_text_the_xml_parser_refuses_goes_the_html_parsers_way() -> None:
    html = "<html><body><p>Form feed \x0c here &nbsp; and <br> unclosed</p></body></html>"
    document = pdf._document(pdf._tree(html), pdf.LocalOnlyURLFetcher())
    assert "Form feed" in "".join(document.etree_element.itertext())
    assert document.render().pages
