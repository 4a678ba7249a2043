"""The catalogues: every marked text extracted, and translated into French and Urdu with
the same named values. A text marked but not yet extracted, or extracted but not
translated, fails here with its name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from facilitator.core import i18n

ROOT = Path(__file__).resolve().parent.parent
VALUE = re.compile(r"\{(\w+)\}")


def _ids(path: Path) -> dict[str, object]:
    with path.open("rb") as stream:
        catalogue = read_po(stream)
    return {(m.id[0] if isinstance(m.id, tuple | list) else m.id): m for m in catalogue if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    i18n.extract(out)
    return _ids(out)


def test_the_template_holds_every_marked_text(extracted: dict[str, object]) -> None:
    committed = _ids(i18n.TRANSLATIONS / "messages.pot")
    missing = sorted(set(extracted) - set(committed))
    assert not missing, f"run `python3 dev.py i18n`: not in messages.pot: {missing[:10]}"
    assert len(extracted) > 300  # the screens, the pages, the PDF and the kits


@pytest.mark.parametrize("lang", ["fr", "ur"])
def test_every_text_is_translated_with_the_same_values(
    extracted: dict[str, object], lang: str
) -> None:
    translations = _ids(i18n.TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    untranslated, wrong = [], []
    for msgid in extracted:
        message = translations.get(msgid)
        strings = message.string if message else None
        forms = list(strings) if isinstance(strings, tuple | list) else [strings]
        if not message or message.fuzzy or not all(forms):
            untranslated.append(msgid)
            continue
        for form in forms:
            if set(VALUE.findall(form)) - set(VALUE.findall(msgid)) - {"n"}:
                wrong.append((msgid, form))
    assert not untranslated, f"{len(untranslated)} untranslated in {lang}: {untranslated[:10]}"
    assert not wrong, f"values that the English text does not have: {wrong[:5]}"


def test_urdu_and_french_differ_from_english_where_it_matters() -> None:
    for lang in ("fr", "ur"):
        catalogue = i18n.catalogue(lang)
        assert i18n.gettext(lang, "Language") != "Language"
        assert len(catalogue) > 300
    assert re.search("[\u0600-\u06ff]", i18n.gettext("ur", "Language"))


def test_no_marked_text_escapes_extraction(extracted: dict[str, object]) -> None:
    """Babel's JavaScript extractor skips calls inside template literals: every
    t("...")/tn("...") a plain search finds must be in the extraction."""
    call = re.compile(r'\btn?\(\s*"((?:[^"\\]|\\.)*)"')
    missed = sorted(
        (path.name, text)
        for path in (ROOT / "static" / "js").glob("*.js")
        if path.name != "i18n.js"  # its comments show examples
        for text in call.findall(path.read_text(encoding="utf-8"))
        if (json.loads(f'"{text}"') if "\\" in text else text) not in extracted
    )
    assert not missed, f"write these calls outside `${{…}}`: {missed}"
