"""Languages of the interface, the projector and the PDF.

Translations are gettext catalogues, ``facilitator/translations/<lang>/LC_MESSAGES/
messages.po``, read as they are (no compile step). One catalogue serves the server's
templates (``_()`` in Jinja), the screens' modules (``t()``/``tn()`` in
``static/js``, served as ``/i18n/<lang>.js``) and the kits' fixed texts (stage
titles, prompts, sectors...), which are translated by their exact English text, so
a text the facilitator rewrote is shown as typed.

``python3 dev.py i18n`` extracts every marked text into ``messages.pot`` and merges
it into each language's catalogue (``babel.cfg`` says where to look).

Values are put into translated text by name, ``{name}``, in Python and JavaScript
alike; templates escape the result like any other text.
"""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any

from babel.messages.pofile import read_po
from flask import Flask, g, request

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
DEFAULT = "en"
#: Code: (name in its own language, direction).
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("English", "ltr"),
    "fr": ("Français", "ltr"),
    "ur": ("اردو", "rtl"),
}
COOKIE = "lang"


def N_(text: str) -> str:  # noqa: N802 - gettext's usual name for a marker
    """Marks a fixed text for extraction where it is defined; it is translated where it
    is shown (``tk`` on the screens, ``_`` in templates)."""
    return text


def supported(code: Any) -> str | None:
    """``code`` if it names a shipped language, else None."""
    return code if isinstance(code, str) and code in LANGUAGES else None


def direction(lang: str) -> str:
    return LANGUAGES.get(lang, LANGUAGES[DEFAULT])[1]


@cache
def _po(lang: str) -> list[Any]:
    """The messages of ``lang``'s catalogue, read once per process."""
    path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or lang not in LANGUAGES or not path.exists():
        return []
    with path.open("rb") as stream:
        return [m for m in read_po(stream, locale=lang) if m.id]


def _key(message: Any) -> str:
    return str(message.id[0] if isinstance(message.id, tuple | list) else message.id)


@cache
def catalogue(lang: str) -> dict[str, str | list[str]]:
    """Translated texts by English text; plural entries as a list of forms. Entries
    without a translation (or fuzzy) are left out, so the English shows instead."""
    out: dict[str, str | list[str]] = {}
    for message in _po(lang):
        if message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = [str(s) for s in message.string]
            if all(forms):
                out[_key(message)] = forms
        elif message.string:
            out[_key(message)] = str(message.string)
    return out


VALUE = re.compile(r"\{(\w+)\}")


def _fill(text: str, values: dict[str, Any]) -> str:
    """Each ``{name}`` of ``text`` replaced once (a value holding braces stays as it is)."""
    return VALUE.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


def gettext(lang: str, text: str, **values: Any) -> str:
    found = catalogue(lang).get(text)
    return _fill(found if isinstance(found, str) else text, values)


def _plural_index(lang: str, n: int) -> int:
    if lang == "fr":
        return 0 if n in (0, 1) else 1
    return 0 if n == 1 else 1


def ngettext(lang: str, singular: str, plural: str, n: int, **values: Any) -> str:
    found = catalogue(lang).get(singular)
    forms = found if isinstance(found, list) else [singular, plural]
    return _fill(forms[min(_plural_index(lang, n), len(forms) - 1)], {"n": n, **values})


def kit_text(lang: str, text: Any) -> Any:
    """A kit's fixed text in ``lang``, or the text as it is."""
    if not isinstance(text, str) or not text:
        return text
    found = catalogue(lang).get(text)
    return found if isinstance(found, str) else text


#: Where the texts the screens show come from: their modules, the kits, and the fixed
#: labels the server hands them (not the server's pages nor the PDF, rendered in place).
SCREEN_SOURCES = ("static/js/", "workshop_kits/", "facilitator/")
NOT_SCREEN_SOURCES = ("facilitator/edges/web/", "facilitator/documents/")


def _for_screens(paths: list[str]) -> bool:
    return any(p.startswith(SCREEN_SOURCES) and not p.startswith(NOT_SCREEN_SOURCES) for p in paths)


@cache
def screen_catalogue(lang: str) -> dict[str, str | list[str]]:
    """The part of the catalogue the screens' modules use: a phone on a weak link loads
    no text it never shows."""
    wanted = {_key(m) for m in _po(lang) if _for_screens([location for location, _ in m.locations])}
    return {k: v for k, v in catalogue(lang).items() if k in wanted}


def javascript(lang: str) -> str:
    """The classic script that hands the screens their catalogue."""
    data = json.dumps(screen_catalogue(lang), ensure_ascii=False, sort_keys=True)
    # Nothing in it can end a script element or start a comment.
    data = data.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.FACILITATOR_MESSAGES = {data};\n"


def negotiate(accept_language: Any) -> str:
    """The best shipped language for an Accept-Language header (werkzeug's)."""
    best = accept_language.best_match(list(LANGUAGES)) if accept_language else None
    return best or DEFAULT


# -- pages ----------------------------------------------------------------------------------


def page_language(workshop_language: str | None = None, *, fixed: bool = False) -> str:
    """The language of this request's page, remembered in ``g.lang``.

    A person's own choice (the cookie) first, then the workshop's language, then their
    browser's. ``fixed``: the workshop's language whatever the person chose (the
    projector, which the whole room reads)."""
    chosen = supported(request.cookies.get(COOKIE))
    workshop = supported(workshop_language)
    if workshop and (fixed or not chosen):
        lang = workshop
    else:
        lang = chosen or negotiate(request.accept_languages)
    g.lang = lang
    #: The page follows the workshop's language when the facilitator changes it.
    g.follows_workshop_language = lang == workshop and (fixed or not chosen)
    return lang


def current() -> str:
    lang = g.get("lang")
    if lang is None:
        lang = page_language()
    return str(lang)


def _(text: str, **values: Any) -> str:
    """``text`` in the page's language (in a request), values put in by name."""
    return gettext(current(), text, **values)


def error_text(error: dict[str, Any]) -> str:
    """A refusal's message (an ack's ``error``) in the page's language."""
    template = error.get("template") or error.get("message") or ""
    lang = current()
    # A value may itself be a fixed word (a field's name): translated like a kit's text.
    values = {k: kit_text(lang, v) for k, v in (error.get("values") or {}).items()}
    return gettext(lang, str(template), **values)


def init_app(app: Flask) -> None:
    """Templates get ``_``, ``_n`` and ``tk`` in the page's language, and ``lang`` and
    ``lang_dir`` for ``<html>``."""

    def _n(singular: str, plural: str, n: int, **values: Any) -> str:
        return ngettext(current(), singular, plural, n, **values)

    app.jinja_env.globals.update(
        _=_, _n=_n, tk=lambda text: kit_text(current(), text), LANGUAGES=LANGUAGES
    )

    @app.context_processor
    def language() -> dict[str, Any]:
        lang = current()
        follows = bool(g.get("follows_workshop_language"))
        return {"lang": lang, "lang_dir": direction(lang), "follows_workshop_language": follows}


# -- extraction ---

#: Marker functions: ``_``/``_n`` (templates, Python), ``t``/``tn`` (screens), ``N_``,
#: and the message of every ``DomainError`` (shown by the screens in their language).
KEYWORDS = ("_", "_n:1,2", "t", "tn:1,2", "N_", "DomainError:2")
PROJECT = Path(__file__).resolve().parents[2]


def extract(output: Path) -> None:
    """Every marked text of the project into the template ``output`` (see babel.cfg)."""
    from babel.messages.frontend import CommandLineInterface

    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    with contextlib.chdir(PROJECT):  # locations relative to the project
        CommandLineInterface().run(
            ["pybabel", "-q", "extract", "-F", "babel.cfg", *keywords,
             "--add-location=file", "--sort-output", "-o", str(output.resolve()), "."]
        )  # fmt: skip


# -------------------------------------------------------------------------------

#: Kit fields shown to people as they are written (translated by their exact text).
KIT_TEXT_KEYS = {
    "title",
    "summary",
    "prompt",
    "description",
    "label",
    "name",
    "proposal",
    "question",
    "sectors",
    "categories",
    "stakeholder_categories",
    "levels",
    "options",
    "areas",
    "topics",
    "low",
    "high",
    # The stakeholder map's quadrant labels.
    "manage_closely",
    "keep_satisfied",
    "keep_informed",
    "monitor",
}


#: Kit parts holding names of real organisations and people: never translated.
KIT_PROPER_NAMES = {"starters"}


def _kit_texts(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in KIT_PROPER_NAMES:
                yield from _kit_texts(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _kit_texts(item, key)
    elif isinstance(value, str) and key in KIT_TEXT_KEYS and value.strip():
        yield value


def extract_kit(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for kit files: every text a kit shows people."""
    data = tomllib.loads(fileobj.read().decode("utf-8"))
    seen: set[str] = set()
    for text in _kit_texts(data):
        if text not in seen:
            seen.add(text)
            yield 0, "_", text, ["kit text"]
