"""The plan PDF's two drawings, as inline SVG: the stakeholder map (the power/interest
grid) and the accountability matrix (organisations x actions).

Text SVG would mangle is set over a drawing as HTML instead: WeasyPrint lays out SVG
text letter by letter, left to right. The matrix joins its marks into a few paths, as
WeasyPrint's drawing costs per element, not per path segment. Every text is escaped.
"""

from __future__ import annotations

import math
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from facilitator.core import i18n
from facilitator.core.i18n import N_
from facilitator.core.text import text_direction

#: Stakeholder-map quadrants, for a map whose kit does not name them.
QUADRANTS = {
    "keep_satisfied": N_("Keep satisfied"),
    "manage_closely": N_("Manage closely"),
    "monitor": N_("Monitor"),
    "keep_informed": N_("Keep informed"),
}


# -- the stakeholder map ----------------------------------------------------------------


def _wrap(label: str, width: int) -> list[str]:
    return textwrap.wrap(label, width) or [""]


def _number(value: Any, scale: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(number, 0.0), scale) if number == number else 0.0


def _needs_html_text(text: str) -> bool:
    """Whether SVG would mangle ``text``: WeasyPrint lays out SVG text letter by letter,
    left to right, so right-to-left text comes out backwards and Arabic script unjoined."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def _map_label(lines: Sequence[str], size: float, style: str, **box: float | str) -> dict[str, Any]:
    """A map label set as HTML over the drawing (for text SVG would mangle): its lines,
    direction and CSS placement (``box``: CSS lengths in mm, or text-align or transform)."""
    place = "; ".join(
        f"{prop.replace('_', '-')}: {value:.2f}mm"
        if isinstance(value, float)
        else f"{prop.replace('_', '-')}: {value}"
        for prop, value in box.items()
    )
    return {
        "lines": list(lines),
        "dir": text_direction(" ".join(lines)) or "ltr",
        "style": f"font-size: {size}mm; {style}; {place}",
    }


def map_svg(
    scale: float,
    quadrants: Mapping[str, str],
    stakeholders: Sequence[Mapping[str, Any]],
    lang: str = i18n.DEFAULT,
) -> tuple[Markup, list[dict[str, Any]]]:
    """The grid as SVG, and the labels to set over it as HTML (see _needs_html_text)."""
    # Units are millimetres: the grid is drawn 170 x 128 mm.
    width, height = 170.0, 128.0
    left, right, top, bottom = 12.0, 166.0, 3.0, 117.0
    mid_x, mid_y = (left + right) / 2, (top + bottom) / 2
    radius = 2.2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" width="{width}mm" '
        f'height="{height}mm" viewBox="0 0 {width} {height}" font-family="DejaVu Sans">',
        f'<rect x="{mid_x}" y="{top}" width="{right - mid_x}" height="{mid_y - top}" '
        'fill="#e4ecf4"/>',
        f'<rect x="{left}" y="{top}" width="{mid_x - left}" height="{mid_y - top}" '
        'fill="#f1f1f1"/>',
        f'<rect x="{mid_x}" y="{mid_y}" width="{right - mid_x}" height="{bottom - mid_y}" '
        'fill="#f1f1f1"/>',
        f'<rect x="{left}" y="{mid_y}" width="{mid_x - left}" height="{bottom - mid_y}" '
        'fill="#f8f8f8"/>',
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#8a8a8a" stroke-width="0.3"/>',
        f'<line x1="{mid_x}" y1="{top}" x2="{mid_x}" y2="{bottom}" stroke="#8a8a8a" '
        'stroke-width="0.25" stroke-dasharray="1.2 0.8"/>',
        f'<line x1="{left}" y1="{mid_y}" x2="{right}" y2="{mid_y}" stroke="#8a8a8a" '
        'stroke-width="0.25" stroke-dasharray="1.2 0.8"/>',
    ]
    corners = {
        "keep_satisfied": (left + 1.5, top + 4, "start"),
        "manage_closely": (right - 1.5, top + 4, "end"),
        "monitor": (left + 1.5, bottom - 1.5, "start"),
        "keep_informed": (right - 1.5, bottom - 1.5, "end"),
    }
    labels: list[dict[str, Any]] = []
    quadrant_style = "font-weight: bold; color: #4a4a4a; line-height: 3.3mm"
    for key, (x, y, anchor) in corners.items():
        name = (quadrants.get(key) or "").strip() or i18n.gettext(lang, QUADRANTS[key])
        lines = _wrap(name, 40)[:3]
        if _needs_html_text(name):
            side = {"left": x} if anchor == "start" else {"right": width - x}
            edge = {"top": y - 2.9} if y < mid_y else {"bottom": height - y - 0.8}
            align = "left" if anchor == "start" else "right"
            labels.append(_map_label(lines, 2.9, quadrant_style, **side, **edge, text_align=align))
            continue
        if y > mid_y:  # bottom labels grow upwards
            y -= 3.3 * (len(lines) - 1)
        tspans = "".join(
            f'<tspan x="{x}" y="{y + 3.3 * i:.1f}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(
            f'<text font-size="2.9" font-weight="bold" fill="#4a4a4a" '
            f'text-anchor="{anchor}">{tspans}</text>'
        )
    # Axes: ticks at 0, half and full scale.
    for fraction in (0.0, 0.5, 1.0):
        value = f"{scale * fraction:g}"
        x = left + (right - left) * fraction
        y = bottom - (bottom - top) * fraction
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 3.6}" font-size="2.6" fill="#555" '
            f'text-anchor="middle">{escape(value)}</text>'
        )
        parts.append(
            f'<text x="{left - 1.2}" y="{y + 0.9:.1f}" font-size="2.6" fill="#555" '
            f'text-anchor="end">{escape(value)}</text>'
        )
    interest_axis = i18n.gettext(lang, N_("Interest in the plan →"))
    power_axis = i18n.gettext(lang, N_("Power over the plan →"))
    axis_style = "color: #222; line-height: 4mm; text-align: center"
    if _needs_html_text(interest_axis):  # centred under the grid
        labels.append(
            _map_label(
                [interest_axis], 3, axis_style, left=mid_x - 60, top=bottom + 5.5, width=120.0
            )
        )
    else:
        parts.append(
            f'<text x="{mid_x}" y="{bottom + 8.5}" font-size="3" fill="#222" '
            f'text-anchor="middle">{escape(interest_axis)}</text>'
        )
    if _needs_html_text(power_axis):  # turned a quarter about its centre, left of the grid
        labels.append(
            _map_label(
                [power_axis],
                3,
                axis_style,
                left=3.2 - 60,
                top=mid_y - 2,
                width=120.0,
                transform="rotate(-90deg)",
            )
        )
    else:
        parts.append(
            f'<text x="4" y="{mid_y}" font-size="3" fill="#222" text-anchor="middle" '
            f'transform="rotate(-90 4 {mid_y})">{escape(power_axis)}</text>'
        )
    placed: list[tuple[float, float]] = []
    for number, item in enumerate(stakeholders, start=1):
        interest = _number(item.get("interest"), scale) / scale
        power = _number(item.get("power"), scale) / scale
        px = left + radius + (right - left - 2 * radius) * interest
        py = bottom - radius - (bottom - top - 2 * radius) * power
        x, y = _free_spot(px, py, placed, radius, (left, right, top, bottom))
        placed.append((x, y))
        size = 2.4 if number < 10 else 2.1 if number < 100 else 1.6
        parts.append(
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{radius}" fill="#1f4e79" '
            'stroke="#ffffff" stroke-width="0.3"/>'
            f'<text x="{x:.2f}" y="{y + size * 0.36:.2f}" font-size="{size}" '
            f'font-weight="bold" fill="#ffffff" text-anchor="middle">{number}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts)), labels  # noqa: S704 - every text above is escaped


def _free_spot(
    x: float,
    y: float,
    placed: Sequence[tuple[float, float]],
    radius: float,
    box: tuple[float, float, float, float],
) -> tuple[float, float]:
    """The nearest position to (x, y) where a dot does not cover an earlier one."""
    left, right, top, bottom = box
    gap = (2 * radius + 0.25) ** 2
    ring = 0
    while ring < 40:
        steps = 1 if ring == 0 else 6 * ring
        for step in range(steps):
            angle = math.tau * step / steps
            cx = min(max(x + ring * radius * 1.05 * math.cos(angle), left + radius), right - radius)
            cy = min(max(y + ring * radius * 1.05 * math.sin(angle), top + radius), bottom - radius)
            if all((cx - px) ** 2 + (cy - py) ** 2 >= gap for px, py in placed):
                return cx, cy
        ring += 1
    return x, y


# -- the accountability matrix ---------------------------------------------------------


#: Action refs per block of the accountability matrix (one landscape page width).
MATRIX_REFS_PER_BLOCK = 30
#: Matrix geometry in millimetres: one mark column per action ref.
MATRIX_CELL_W = 6.9
MATRIX_ROW_H = 4.4
MATRIX_HEAD_H = 5.6
#: The organisation column's width.
MATRIX_ORG_W = 58.0
#: Organisation rows per block at most, so a block fits a landscape page under a heading.
MATRIX_ROWS_PER_BLOCK = 32
#: How each kind of mark is drawn: shapes only, which survive greyscale printing and
#: cost a fraction of SVG text (WeasyPrint lays out SVG text letter by letter). Each
#: is a cell fill and perhaps a figure, both as path data joined into one path per
#: block: WeasyPrint's SVG drawing costs per element, not per path segment.
MARK_STYLES = {
    "L": ('fill="#1f4e79"', ""),
    "S": ('fill="#dde6ef"', 'fill="none" stroke="#1f4e79" stroke-width="0.45"'),
    "!": ('fill="#fbf1f1"', 'fill="none" stroke="#9b1c1c" stroke-width="0.5"'),
}


def _mark_paths(kind: str, cells: Sequence[tuple[float, float]]) -> str:
    """The marks of one kind in the cells whose top-left corners are ``cells``, as (at
    most) two paths."""
    w, h = MATRIX_CELL_W, MATRIX_ROW_H
    fill, figure = MARK_STYLES[kind]
    out = '<path d="{}" {}/>'.format(
        "".join(f"M{x:.2f} {y:.2f}h{w}v{h}h-{w}z" for x, y in cells), fill
    )
    if kind == "S":  # a ring
        r = 1.1
        rings = "".join(
            f"M{x + w / 2 - r:.2f} {y + h / 2:.2f}a{r} {r} 0 1 0 {2 * r} 0a{r} {r} 0 1 0 -{2 * r} 0"
            for x, y in cells
        )
        out += f'<path d="{rings}" {figure}/>'
    elif kind == "!":  # a cross
        crosses = "".join(
            f"M{x + w / 2 - 1:.2f} {y + h / 2 - 1:.2f}l2 2m0-2l-2 2" for x, y in cells
        )
        out += f'<path d="{crosses}" {figure}/>'
    return out


def mark_swatch(kind: str) -> Markup:
    """One mark on its own, for the legend above the matrix."""
    return Markup(  # noqa: S704 - fixed shapes, no text
        f'<svg xmlns="http://www.w3.org/2000/svg" class="swatch" width="{MATRIX_CELL_W}mm" '
        f'height="{MATRIX_ROW_H}mm" viewBox="0 0 {MATRIX_CELL_W} {MATRIX_ROW_H}">'
        f"{_mark_paths(kind, [(0.0, 0.0)])}</svg>"
    )


def _matrix_svg(
    refs: Sequence[str], marks: Sequence[Sequence[str]], *, rtl: bool, leaderless_row: bool
) -> Markup:
    """A block of the matrix drawn as one SVG: the header band with the refs, a rule
    under every row and after every fifth column, and the marks, one path per kind of
    mark for the whole block. The organisation names are set over it as HTML
    (:func:`matrix_block`): WeasyPrint lays out SVG text letter by letter and would
    mangle right-to-left names. One drawing per block, not per row: WeasyPrint's cost
    is per image and per element, not per path segment."""
    w, h, head = MATRIX_CELL_W, MATRIX_ROW_H, MATRIX_HEAD_H
    strip = w * len(refs)
    width, height = MATRIX_ORG_W + strip, head + h * len(marks)
    x0 = 0.0 if rtl else MATRIX_ORG_W  # where the ref columns start
    org_edge = strip if rtl else MATRIX_ORG_W
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.1f}mm" height="{height:.1f}mm" '
        f'viewBox="0 0 {width:.1f} {height:.1f}">',
        f'<rect width="{width:.1f}" height="{head}" fill="#e9e9e9"/>',
    ]
    for kind in MARK_STYLES:
        cells = [
            (x0 + w * column, head + h * row)
            for row, line in enumerate(marks)
            for column, mark in enumerate(line)
            if mark == kind
        ]
        if cells:
            out.append(_mark_paths(kind, cells))
    rows = "".join(f"M0 {head + h * row:.2f}h{width:.1f}" for row in range(1, len(marks)))
    columns = "".join(f"M{x0 + w * c:.2f} 0v{height:.1f}" for c in range(5, len(refs), 5))
    out.append(
        f'<path d="{rows}" stroke="#d0d0d0" stroke-width="0.12"/>'
        f'<path d="{columns}M{org_edge:.2f} 0v{height:.1f}" stroke="#c4c4c4" '
        'stroke-width="0.2"/>'
        f'<path d="M0 {head}h{width:.1f}" stroke="#555" stroke-width="0.25"/>'
    )
    if leaderless_row:  # the last row, actions without a lead, is set apart
        out.append(f'<path d="M0 {height - h:.2f}h{width:.1f}" stroke="#888" stroke-width="0.28"/>')
    out.append(
        f'<rect x="0.09" y="0.09" width="{width - 0.18:.2f}" height="{height - 0.18:.2f}" '
        'fill="none" stroke="#8a8a8a" stroke-width="0.18"/>'
        '<g font-family="DejaVu Sans Condensed" font-weight="bold" text-anchor="middle" '
        f'font-size="2.2" fill="#222">'
    )
    baseline = f"{head / 2 + 0.85:.2f}"
    out.extend(
        f'<text x="{x0 + w * (i + 0.5):.2f}" y="{baseline}">{escape(ref)}</text>'
        for i, ref in enumerate(refs)
    )
    out.append("</g></svg>")
    return Markup("".join(out))  # noqa: S704 - the only texts are escaped refs


def matrix_block(
    refs: Sequence[str],
    rows: Sequence[tuple[str, set[str], set[str]]],
    leaderless: set[str],
    no_lead: str | None = N_("No lead"),
    *,
    rtl: bool = False,
) -> dict[str, Any]:
    """Organisations x up to 30 action refs: L where it leads, S where it supports, and,
    unless ``no_lead`` is None, a last row marking the actions nobody leads. Its
    drawing, its size (mm), and each name with its place over the drawing."""
    names = [name for name, _, _ in rows]
    marks = [
        ["L" if r in lead else "S" if r in support else "" for r in refs]
        for _, lead, support in rows
    ]
    if no_lead is not None:
        names.append(no_lead)
        marks.append(["!" if r in leaderless else "" for r in refs])
    side = "right" if rtl else "left"
    labels = [
        {
            "text": name,
            "no_lead": index == len(rows),
            "style": f"top: {MATRIX_HEAD_H + MATRIX_ROW_H * index:.2f}mm; {side}: 0",
        }
        for index, name in enumerate(names)
    ]
    return {
        "svg": _matrix_svg(refs, marks, rtl=rtl, leaderless_row=no_lead is not None),
        "width": round(MATRIX_ORG_W + MATRIX_CELL_W * len(refs), 2),
        "height": round(MATRIX_HEAD_H + MATRIX_ROW_H * len(names), 2),
        "head_style": f"top: 0; {side}: 0",
        "labels": labels,
    }
