"""The plan PDF laid out in parts on several processes, then assembled into one file.

WeasyPrint lays a document out on one core. The plan's chapters each begin on a new
page, so apart from page numbers nothing in one chapter's layout depends on another:

1. The plan's HTML is split into *units*, a chapter with any section that flows on
   after it (``section.flow``). The units are shared between the processes by their
   number of elements, a good measure of their layout cost.
2. The process forks; each process renders its units alone into a PDF with no margin
   texts but the running objective of the landscape pages, and reports each page's
   size, anchors and bookmarks.
3. A *frame* document is rendered: one empty page per part page, in the plan's order,
   with the contents chapter itself. It carries everything that belongs to the whole
   document: "page X of Y", the running heads and the fingerprint in the margins, the
   page numbers of the contents and its links, the bookmarks, the metadata, the
   identifier and the attached ``plan.json``.
4. Each part page is laid under its frame page (qpdf's form XObjects, through pikepdf).

Only POSIX ``fork`` is used: the render service's child, which calls this, is a single
thread with WeasyPrint loaded, so the forked processes start warm.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from xml.etree import ElementTree

import pikepdf
from weasyprint import CSS, Attachment

from facilitator.documents.forking import Forked, PartStopped, expect, fork, send, stop

log = logging.getLogger(__name__)

#: What parts leave out: the margins are the frame's, but for the running objective of
#: the landscape pages (``@page landscape``, more specific, keeps its ``@top-left``).
PART_CSS = """
@page {
  @top-left { content: none; } @top-right { content: none; }
  @bottom-left { content: none; } @bottom-right { content: none; }
}
"""
#: The frame's empty pages: one per part page, named as that page was (size, margins).
FRAME_CSS = """
.sheet { break-before: page; }
.sheet.first { break-before: auto; }
.sheet.landscape { page: landscape; }
.sheet.cover { page: cover; }
.mark-1 { bookmark-level: 1; bookmark-label: attr(data-label); }
.mark-2 { bookmark-level: 2; bookmark-label: attr(data-label); }
.mark-3 { bookmark-level: 3; bookmark-label: attr(data-label); }
.mark-4 { bookmark-level: 4; bookmark-label: attr(data-label); }
"""
#: The unit the frame renders itself: its page numbers are the whole document's.
FRAME_UNIT = "contents"


@dataclass
class Unit:
    """A chapter and the sections flowing after it; ``name`` is the chapter's id."""

    name: str
    sections: list[ElementTree.Element]
    cost: int


@dataclass
class PartPage:
    """A page of a part, as the frame needs it."""

    landscape: bool
    anchors: list[str]
    bookmarks: list[tuple[int, str]]


@dataclass
class Part:
    """What one process rendered: its units, their pages and the PDF."""

    units: list[str]
    pages: list[PartPage] = field(default_factory=list)
    unit_starts: dict[str, int] = field(default_factory=dict)
    pdf: bytes = b""


def local_name(element: ElementTree.Element) -> str:
    """An element's tag without its namespace (the HTML parser's tree has one)."""
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rpartition("}")[2]


def body_of(root: ElementTree.Element) -> ElementTree.Element:
    for child in root:
        if local_name(child) == "body":
            return child
    raise ValueError("the plan's HTML has no body")


def take_labels(root: ElementTree.Element) -> ElementTree.Element:
    """Detach the element setting the margins' strings (``.running-labels``, in the
    cover), to be put back first in each part and in the frame."""
    for parent in root.iter():
        for child in parent:
            if "running-labels" in (child.get("class") or "").split():
                parent.remove(child)
                return child
    raise ValueError("the plan's HTML has no running labels")


def _lead_with(body: ElementTree.Element, labels: ElementTree.Element) -> None:
    """Put ``labels`` first in the body's first block: on the first page, whatever its
    name (a block of its own before it would be a page of its own)."""
    if len(body):
        body[0].insert(0, labels)


#: What a unit costs to lay out and draw, in tenths of a millisecond, fitted on the
#: sections of plans of 20 to 300 actions: per HTML element, per character of text,
#: and per SVG element (each one drawn on its own).
COST_ELEMENT, COST_CHARACTER, COST_SVG = 6, 0.7, 18


def layout_cost(section: ElementTree.Element) -> int:
    """A section's estimated cost: its elements, its text and its drawings."""
    cost = 0.0
    for element in section.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        svg = tag.startswith("{http://www.w3.org/2000/svg}")
        cost += COST_SVG if svg else COST_ELEMENT
        cost += COST_CHARACTER * (len(element.text or "") + len(element.tail or ""))
    return round(cost)


def units_of(body: ElementTree.Element) -> list[Unit]:
    """The body's sections grouped into units; raises ValueError when a section that
    starts a unit has no id (the template gives each one)."""
    units: list[Unit] = []
    for child in body:
        if local_name(child) != "section":
            continue
        classes = (child.get("class") or "").split()
        cost = layout_cost(child)
        if "flow" in classes and units:
            units[-1].sections.append(child)
            units[-1].cost += cost
            continue
        name = child.get("id")
        if not name:
            raise ValueError("a chapter of the plan's HTML has no id")
        units.append(Unit(name, [child], cost))
    return units


def share(units: Sequence[Unit], parts: int) -> list[list[str]]:
    """The units' names in ``parts`` groups of about equal cost (largest first, each to
    the lightest group); empty groups are dropped."""
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(parts)]
    for unit in sorted(units, key=lambda u: -u.cost):
        index = min(range(parts), key=lambda i: groups[i][0])
        cost, names = groups[index]
        groups[index] = (cost + unit.cost, [*names, unit.name])
    return [names for _, names in groups if names]


# -- one part ----------------------------------------------------------------------------------


def lay_out_part(
    root: ElementTree.Element,
    names: Sequence[str],
    labels: ElementTree.Element,
    render: Callable[[ElementTree.Element, list[CSS]], Any],
) -> tuple[Any, Part]:
    """Lay out the units ``names`` of ``root`` (the tree is changed: run it in a forked
    process or on a copy): the WeasyPrint document, and its pages as the frame needs
    them. ``render(root, extra_sheets)`` is the caller's WeasyPrint rendering."""
    body = body_of(root)
    keep = set(names)
    for unit in units_of(body):
        if unit.name not in keep:
            for section in unit.sections:
                body.remove(section)
    _lead_with(body, labels)
    document = render(root, [CSS(string=PART_CSS)])
    part = Part(list(names))
    for index, page in enumerate(document.pages):
        anchors = list(page.anchors)
        for name in keep.intersection(anchors):
            part.unit_starts.setdefault(name, index)
        part.pages.append(
            PartPage(
                landscape=page.width > page.height,
                anchors=anchors,
                bookmarks=[(level, label) for level, label, _target, _state in page.bookmarks],
            )
        )
    missing = keep.difference(part.unit_starts)
    if missing:
        raise ValueError(f"no page begins the plan's chapters {sorted(missing)}")
    return document, part


class _Collect(logging.Handler):
    """WeasyPrint's warnings in a forked process, to log again in the parent."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _part_process(
    root: ElementTree.Element,
    names: Sequence[str],
    labels: ElementTree.Element,
    render: Callable[[ElementTree.Element, list[CSS]], Any],
    stream: Any,
) -> None:
    """In a forked process: the pages as soon as they are laid out (b"L", so the frame
    can be made while this process draws), then the PDF (b"P") and WeasyPrint's
    warnings (b"W")."""
    warnings = _Collect()
    logging.getLogger("weasyprint").addHandler(warnings)
    document, part = lay_out_part(root, names, labels, render)
    pages = [[p.landscape, p.anchors, p.bookmarks] for p in part.pages]
    send(stream, b"L", json.dumps({"starts": part.unit_starts, "pages": pages}).encode())
    pdf = document.write_pdf()
    send(stream, b"W", json.dumps(warnings.messages).encode())
    send(stream, b"P", pdf)


def _laid_out(forked: Forked) -> Part:
    meta = json.loads(expect(forked, b"L"))
    part = Part(forked.names, unit_starts=meta["starts"])
    part.pages = [
        PartPage(landscape, anchors, [(level, label) for level, label in marks])
        for landscape, anchors, marks in meta["pages"]
    ]
    return part


def _finish(forked: Forked, part: Part) -> None:
    """The part's warnings (logged here) and PDF, and its process waited for."""
    for message in json.loads(expect(forked, b"W")):
        logging.getLogger("weasyprint").warning("%s", message)
    part.pdf = expect(forked, b"P")
    forked.stream.close()
    _, status = os.waitpid(forked.pid, 0)
    forked.pid = 0
    if status != 0:
        raise PartStopped(status)


# -- the whole ---------------------------------------------------------------------------------


@dataclass
class Slot:
    """A page of the assembled document: a part's page, or one the frame lays out."""

    part: int
    page: int


def _sheets(units: Sequence[Unit], parts: Sequence[Part]) -> Iterator[tuple[str, Slot | None]]:
    """In the plan's order: each unit's name, and each of its part pages (None for the
    frame's own unit)."""
    where = {name: i for i, part in enumerate(parts) for name in part.units}
    for unit in units:
        if unit.name == FRAME_UNIT or unit.name not in where:
            yield unit.name, None
            continue
        index = where[unit.name]
        part = parts[index]
        start = part.unit_starts[unit.name]
        later = [s for s in part.unit_starts.values() if s > start]
        end = min(later) if later else len(part.pages)
        for page in range(start, end):
            yield unit.name, Slot(index, page)


def frame_tree(
    root: ElementTree.Element,
    units: Sequence[Unit],
    labels: ElementTree.Element,
    parts: Sequence[Part],
) -> tuple[ElementTree.Element, dict[str, Slot]]:
    """The frame document (``root`` is changed), and the part page under each sheet id.

    Each sheet is an empty page named as its part page was (portrait, landscape, cover)
    and holds that page's anchors, for the contents' page numbers and links, and its
    bookmarks."""
    body = body_of(root)
    namespace = body.tag[: -len("body")]
    sections = {unit.name: unit.sections for unit in units}
    for unit in units:
        for section in unit.sections:
            body.remove(section)
    slots: dict[str, Slot] = {}
    for name, slot in _sheets(units, parts):
        if slot is None:
            body.extend(sections[name])
            continue
        page = parts[slot.part].pages[slot.page]
        sheet_id = f"frame-sheet-{len(slots)}"
        classes = ["sheet"]
        if not len(body):
            classes.append("first")
        if page.landscape:
            classes.append("landscape")
        elif name == "cover":
            classes.append("cover")
        sheet = ElementTree.SubElement(
            body, f"{namespace}div", {"id": sheet_id, "class": " ".join(classes)}
        )
        for anchor in page.anchors:
            ElementTree.SubElement(sheet, f"{namespace}div", {"id": anchor})
        for level, label in page.bookmarks:
            ElementTree.SubElement(
                sheet,
                f"{namespace}div",
                {"class": f"mark-{min(max(level, 1), 4)}", "data-label": label},
            )
        slots[sheet_id] = slot
    _lead_with(body, labels)
    return root, slots


def assemble(frame_pdf: bytes, frame_pages: Sequence[Slot | None], parts: Sequence[Part]) -> bytes:
    """The frame's PDF with each part page laid under its frame page."""
    with pikepdf.open(BytesIO(frame_pdf)) as frame:
        sources = [pikepdf.open(BytesIO(part.pdf)) for part in parts]
        try:
            if len(frame.pages) != len(frame_pages):
                raise ValueError("the frame's pages do not match its sheets")
            for index, (page, slot) in enumerate(zip(frame.pages, frame_pages, strict=True)):
                if slot is not None:
                    _underlay(page, sources[slot.part].pages[slot.page], f"/PlanPage{index}")
            out = BytesIO()
            frame.save(
                out,
                deterministic_id=True,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
            )
        finally:
            for source in sources:
                source.close()
    return out.getvalue()


def _underlay(page: pikepdf.Page, other: pikepdf.Page, name: str) -> None:
    """Draw ``other`` (a page of the same size) under ``page``, as the form XObject
    ``name``: pikepdf's ``add_underlay`` names it at random, and the same plan must give
    the same bytes. WeasyPrint's pages share one resource dictionary, so each page's
    form has a name of its own."""
    form = other.as_form_xobject()
    page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(name))
    placement = page.calc_form_xobject_placement(
        form,
        pikepdf.Name(name),
        pikepdf.Rectangle(page.trimbox),
        allow_shrink=False,
        allow_expand=False,
    )
    page.contents_add(b"q\n" + placement + b"\nQ\n", prepend=True)
    page.contents_coalesce()


def render_in_parts(
    root: ElementTree.Element,
    render: Callable[[ElementTree.Element, list[CSS]], Any],
    attachment: Attachment,
    identifier: bytes,
    processes: int,
) -> bytes:
    """The plan PDF of the tree ``root`` (changed), its chapters laid out on
    ``processes`` forked processes while this one makes the frame.

    ``render(root, extra_sheets)`` is the caller's WeasyPrint rendering of a tree (its
    stylesheets, fonts and URL fetcher).
    """
    labels = take_labels(root)
    units = units_of(body_of(root))
    groups = share([u for u in units if u.name != FRAME_UNIT], processes)
    forked: list[Forked] = []
    try:
        for names in groups:
            forked.append(
                fork(
                    lambda stream, names=names: _part_process(root, names, labels, render, stream),
                    names,
                    len(groups),
                )
            )
        parts = [_laid_out(one) for one in forked]
        frame, slots = frame_tree(root, units, labels, parts)
        document = render(frame, [CSS(string=FRAME_CSS)])
        frame_pages = [
            next((slots[a] for a in page.anchors if a in slots), None) for page in document.pages
        ]
        if len([s for s in frame_pages if s]) != len(slots):
            raise ValueError("a sheet of the frame is not on a page of its own")
        pdf = document.write_pdf(attachments=[attachment], pdf_identifier=identifier)
        for one, part in zip(forked, parts, strict=True):
            _finish(one, part)
    except BaseException:
        stop(forked)
        raise
    return assemble(pdf, frame_pages, parts)
