"""Text typed by people, made safe to show beside other people's text.

Explicit bidirectional formatting characters - embeddings (U+202A, U+202B),
overrides (U+202D, U+202E), their terminator (U+202C) and isolates (U+2066 to
U+2069) - are removed from everything typed. Left unbalanced in a name or a note,
an override reverses the text after it on the same line: the organisation shown
beside a name, the rest of a table row, a line of the PDF. Right-to-left scripts
need none of them (their letters carry their direction), and the implicit marks
(U+200E, U+200F, U+061C) are kept: they reorder nothing around them.

Where a text runs the other way from the page around it, :func:`text_direction` says
which way, for a ``dir`` attribute of its own.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from facilitator.core.errors import INVALID, VALUE, DomainError
from facilitator.core.i18n import N_

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_bidi_controls(value: Any) -> Any:
    """``value`` with the controls removed from every string in it (lists and dicts too)."""
    if isinstance(value, str):
        return BIDI_CONTROLS.sub("", value)
    if isinstance(value, dict):
        return {strip_bidi_controls(k): strip_bidi_controls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_bidi_controls(v) for v in value]
    return value


def name_key(name: Any) -> str:
    """What two spellings of one name share: Unicode compatibility forms folded (NFKC),
    case folded, runs of spaces made one. "Ministry of Health", "ministry of  health"
    and a full-width "Ｍｉｎｉｓｔｒｙ" compare equal; the name shown is as written."""
    text = "" if name is None else str(name)
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def has_lone_surrogate(value: Any) -> bool:
    """Whether ``value`` is a text with a lone surrogate, which no UTF-8 can encode."""
    return isinstance(value, str) and LONE_SURROGATE.search(value) is not None


def text_direction(value: Any) -> str | None:
    """``rtl`` or ``ltr`` by the first letter with a direction (as ``dir="auto"`` decides
    in a browser), None for a text without one (digits, punctuation)."""
    if not isinstance(value, str):
        return None
    for char in value:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


#: The refusal of a text over its limit when the caller names no other.
TOO_LONG = N_("The {field} must have at most {max} characters.")


def clean_text(
    value: str,
    field: str,
    limit: int,
    *,
    one_line: bool = True,
    missing: str | None = None,
    too_long: str = TOO_LONG,
    label: str | None = None,
) -> str:
    """A typed text as it is stored: spaces collapsed to one (``one_line``) or only
    trimmed (a note, a prompt), refused with a DomainError naming ``field`` when it is
    empty and ``missing`` is given, or longer than ``limit``.

    ``missing`` and ``too_long`` are messages marked for translation (``N_``) with any of
    ``{field}`` (``label``, or ``field``), ``{max}`` and ``{given}``.
    """
    text = " ".join(value.split()) if one_line else value.strip()
    given = {"field": label or field, "max": limit, "given": len(text)}
    if missing is not None and not text:
        raise _refused(missing, field, given)
    if len(text) > limit:
        raise _refused(too_long, field, given)
    return text


def _refused(message: str, field: str, given: dict[str, Any]) -> DomainError:
    values = {name: given[name] for name in VALUE.findall(message) if name in given}
    return DomainError(INVALID, message, values=values, field=field)
