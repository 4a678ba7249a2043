"""How the plan's values read in the PDF: dates, times, amounts, text direction, and
messages filled with escaped values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup
from markupsafe import escape as escape_html

from facilitator.core import i18n
from facilitator.core.text import text_direction


def as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def format_date(value: Any) -> str:
    """``2026-11-22`` as ``22 November 2026``; anything else as given."""
    text = as_text(value)
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return text
    return f"{day.day} {day:%B %Y}"


def format_time(value: Any) -> str:
    """An ISO timestamp as ``22 Nov 2026, 14:03 UTC``; anything else as given."""
    text = as_text(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def format_amount(amount: Any) -> str:
    """``1200000`` as ``1,200,000``; anything that is not a number as given."""
    text = as_text(amount)
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"


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
