"""The plan PDF laid out on two processes and assembled (facilitator.documents.parts), as the
render service makes it, against the same plan laid out in one process: the same pages
with the same words, the same page numbers, contents, bookmarks, links and attachment.
Real WeasyPrint in the real render service (forking from the test process could
inherit another test's locks), real PDF text extraction."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader

from facilitator.documents import parts as pdf_parts
from facilitator.documents.pdf import embedded_plan, render_plan_pdf
from facilitator.documents.render_client import Renderer
from facilitator.domain.canonical import canonical_bytes

from .plan_sample import sample_plan, sample_signatures
from .test_pdf import GENERATED, SCRIPT, digest_of

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="laying out in parts forks")


@dataclass
class Pair:
    plan: dict[str, Any]
    whole: bytes  # one process
    parts: bytes  # two processes, through the render service
    again: bytes  # the same request again

    def readers(self) -> tuple[PdfReader, PdfReader]:
        return PdfReader(BytesIO(self.whole)), PdfReader(BytesIO(self.parts))


def _plan() -> dict[str, Any]:
    plan = sample_plan(24, stakeholders=20, decisions=3, seed=5)
    plan["actions"][2]["activity"] = f"Train supervisors {SCRIPT} in every district"
    return plan


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    plan = _plan()
    digest, signatures = digest_of(plan), sample_signatures(plan)
    whole = render_plan_pdf(plan, digest, signatures, generated_at=GENERATED)
    service = Renderer(seconds=120, memory_mb=1024, processes=2)
    try:
        text = canonical_bytes(plan).decode()
        parts, _ = service.render(text, digest, signatures, generated_at=GENERATED)
        again, _ = service.render(text, digest, signatures, generated_at=GENERATED)
    finally:
        service.close()
    yield Pair(plan, whole, parts, again)


def _words(reader: PdfReader) -> list[list[str]]:
    """Each page's words, sorted: the assembled page draws the part's content first and
    the frame's margins after, so the reading order of a page may differ."""
    return [sorted(page.extract_text().split()) for page in reader.pages]


def test_the_assembled_pdf_has_the_same_pages_and_words(pair: Pair) -> None:
    whole, parts = pair.readers()
    assert len(parts.pages) == len(whole.pages) > 10
    assert _words(parts) == _words(whole)
    for page_a, page_b in zip(whole.pages, parts.pages, strict=True):
        assert page_a.mediabox == page_b.mediabox  # portrait and landscape where they were


def test_every_page_is_numbered_of_the_whole_and_carries_the_hash(pair: Pair) -> None:
    _, parts = pair.readers()
    total = len(parts.pages)
    digest = digest_of(pair.plan)
    for number, page in enumerate(parts.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {total}" in text
        assert digest in re.sub(r"\s+", "", text)


def test_script_text_is_literal_and_every_action_is_there(pair: Pair) -> None:
    _, parts = pair.readers()
    text = "".join(page.extract_text() for page in parts.pages)
    squashed = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", SCRIPT) in squashed
    for action in pair.plan["actions"]:
        assert re.search(rf"\b{action['ref']}\b", text), action["ref"]


def _bookmarks(reader: PdfReader) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((item.title, depth, reader.get_destination_page_number(item)))

    walk(reader.outline, 1)
    return found


def test_bookmarks_are_the_same_with_their_pages_and_levels(pair: Pair) -> None:
    whole, parts = pair.readers()
    expected = _bookmarks(whole)
    assert len(expected) > 10
    assert _bookmarks(parts) == expected


def _contents_links(reader: PdfReader) -> list[int]:
    """The pages the contents page's links go to, top to bottom."""
    page = next(p for p in reader.pages if "Contents" in p.extract_text())
    targets = []
    for annotation in page.get("/Annots") or []:
        link = annotation.get_object()
        if link.get("/Subtype") != "/Link":
            continue
        destination = link.get("/Dest")
        if destination is None and "/A" in link:
            destination = link["/A"].get("/D")
        top = -float(link["/Rect"][3])
        if isinstance(destination, str):
            named = reader.named_destinations[destination]
            targets.append((top, reader.get_destination_page_number(named)))
        else:
            targets.append((top, reader.get_page_number(destination[0].get_object())))
    return [target for _, target in sorted(targets)]


def test_the_contents_links_go_to_the_same_pages(pair: Pair) -> None:
    whole, parts = pair.readers()
    links = _contents_links(whole)
    assert len(links) >= 12  # the chapters and their sub-sections
    assert _contents_links(parts) == links


def test_the_attached_plan_and_metadata_are_the_same(pair: Pair) -> None:
    whole, parts = pair.readers()
    attached = embedded_plan(pair.parts)
    assert attached == canonical_bytes(pair.plan)
    assert json.loads(attached)["version"] == pair.plan["version"]
    for key in ("/Title", "/Subject", "/Keywords", "/Creator"):
        assert parts.metadata[key] == whole.metadata[key]


def test_the_same_request_gives_the_same_bytes(pair: Pair) -> None:
    assert pair.parts == pair.again


def _pictures(pdf: bytes, folder: Path, name: str) -> list[Path]:
    source = folder / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-png", str(source), str(folder / name)], check=True
    )
    return sorted(folder.glob(f"{name}-*.png"))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils)")
@pytest.mark.parametrize("lang", ["en", "ur"])
def test_every_page_looks_the_same_as_in_one_process(lang: str, tmp_path: Path) -> None:
    """Drawn by poppler at 40 dpi, each page of the assembled PDF is the one-process
    page pixel for pixel: the parts are placed where they belong, the margins are the
    same, nothing is drawn twice. Urdu: right to left, in the bundled Naskh."""
    from PIL import Image, ImageChops

    plan = sample_plan(15, stakeholders=10, decisions=2, seed=2)
    plan["workshop"]["language"] = lang
    text, digest = canonical_bytes(plan).decode(), digest_of(plan)
    signatures = sample_signatures(plan)
    whole = render_plan_pdf(json.loads(text), digest, signatures, generated_at=GENERATED)
    service = Renderer(seconds=120, memory_mb=1024, processes=2)
    try:
        parts, _ = service.render(text, digest, signatures, generated_at=GENERATED)
    finally:
        service.close()
    one, two = _pictures(whole, tmp_path, "whole"), _pictures(parts, tmp_path, "parts")
    assert len(one) == len(two) > 10
    for a, b in zip(one, two, strict=True):
        with Image.open(a) as first, Image.open(b) as second:
            assert first.size == second.size, a.name
            assert ImageChops.difference(first, second).getbbox() is None, a.name


# -- the pieces ------------------------------------------------------------------------------


def _body(*sections: str) -> ElementTree.Element:
    return ElementTree.fromstring(f"<html><body>{''.join(sections)}</body></html>")


def test_a_flowing_section_stays_with_its_chapter() -> None:
    root = _body(
        '<section id="a"><p/><p/></section>',
        '<section id="b" class="chapter"><p/></section>',
        '<section class="flow"><p/><p/><p/></section>',
    )
    units = pdf_parts.units_of(pdf_parts.body_of(root))
    assert [(u.name, len(u.sections)) for u in units] == [("a", 1), ("b", 2)]
    assert units[1].cost == 6 * pdf_parts.COST_ELEMENT


def test_the_cost_counts_elements_text_and_drawings() -> None:
    element, character, drawing = (
        pdf_parts.COST_ELEMENT,
        pdf_parts.COST_CHARACTER,
        pdf_parts.COST_SVG,
    )
    text = ElementTree.fromstring("<td>abcdefghij</td>")
    svg = ElementTree.fromstring('<svg xmlns="http://www.w3.org/2000/svg"><path/></svg>')
    assert pdf_parts.layout_cost(text) == round(element + 10 * character)
    assert pdf_parts.layout_cost(svg) == 2 * drawing


def test_a_chapter_without_an_id_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no id"):
        pdf_parts.units_of(pdf_parts.body_of(_body("<section><p/></section>")))


def test_units_are_shared_by_cost() -> None:
    costs_of = (("a", 50), ("b", 30), ("c", 25), ("d", 10))
    units = [pdf_parts.Unit(name, [], cost) for name, cost in costs_of]
    groups = pdf_parts.share(units, 2)
    costs = {u.name: u.cost for u in units}
    assert sorted(sum(costs[n] for n in g) for g in groups) == [55, 60]
    assert pdf_parts.share(units[:1], 2) == [["a"]]  # no empty part


def test_a_failing_part_is_reported_and_the_other_part_stopped() -> None:
    """The largest unit's process fails at once; the other one would take a minute:
    it is stopped, not waited for, and no process is left behind."""
    root = _body(
        '<section id="big"><div class="running-labels"/><p/><p/><p/><p/></section>',
        '<section id="small"><p/></section>',
    )

    def render(tree: ElementTree.Element, _extra: list[Any]) -> Any:
        if any(e.get("id") == "big" for e in tree.iter()):
            raise ValueError("the big chapter cannot be laid out")
        time.sleep(60)
        raise AssertionError("not stopped")

    before = _children(os.getpid())
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="ValueError: the big chapter cannot be laid out"):
        pdf_parts.render_in_parts(root, render, attachment=None, identifier=b"", processes=2)  # type: ignore[arg-type]
    assert time.monotonic() - started < 30
    assert _children(os.getpid()) == before


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
            children += [int(n) for n in listing.read().split()]
    return sorted(children)
