"""The plan PDF in the workshop's language: French, and Urdu right to left in the bundled
Arabic-script face, fetching nothing; checked by extracting the text and the fonts, and
its pages written as PNGs to test-artifacts/languages/ for people to look at."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from facilitator.core import i18n
from facilitator.documents.pdf import canonical_bytes, embedded_plan, render_plan_pdf

from . import a11y
from .plan_sample import sample_plan, sample_signatures

GENERATED = "2026-12-03T09:00:00Z"


def rendered(lang: str, **changes: Any) -> tuple[dict[str, Any], str, bytes]:
    plan = sample_plan(8, 10, 2)
    plan["workshop"]["language"] = lang
    for key, value in changes.items():
        plan["workshop"][key] = value
    digest = hashlib.sha256(canonical_bytes(plan)).hexdigest()
    pdf = render_plan_pdf(plan, digest, sample_signatures(plan), generated_at=GENERATED)
    return plan, digest, pdf


def fonts(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in (page.get("/Resources", {}).get("/Font") or {}).values():
            names.add(str(font.get_object().get("/BaseFont")))
    return names


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("lang", ["fr", "ur"])
def test_the_plan_reads_in_the_workshops_language(lang: str) -> None:
    plan, digest, pdf = rendered(lang)
    reader = PdfReader(BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for english in ("Contents", "Declaration of commitment and sign-off", "Monitoring framework"):
        translated = i18n.gettext(lang, english)
        assert translated != english
        assert squash(translated) in squash(text), (lang, english)
    # The fingerprint on every page, and the plan itself attached, whatever the language.
    assert all(digest in page.extract_text() for page in reader.pages)
    attached = embedded_plan(pdf)
    assert attached is not None and hashlib.sha256(attached).hexdigest() == digest
    # Names and activities as typed.
    assert squash(plan["actions"][0]["activity"])[:20] in squash(text)
    if lang == "ur":
        assert any("NotoNaskhArabic" in name.replace("-", "") for name in fonts(reader)), fonts(
            reader
        )
    else:
        assert not any("NotoNaskhArabic" in name.replace("-", "") for name in fonts(reader))
    _pictures(pdf, lang)


def test_urdu_typed_into_an_english_plan_gets_the_bundled_face() -> None:
    _, _, pdf = rendered("en", title="صوبائی صحت ورکشاپ")
    reader = PdfReader(BytesIO(pdf))
    assert any("NotoNaskhArabic" in name.replace("-", "") for name in fonts(reader))
    assert i18n.gettext("en", "Contents") in reader.pages[1].extract_text()


def _pictures(pdf: bytes, lang: str) -> None:
    """The first pages as PNGs, for a person to look at (when pdftoppm is here)."""
    if not shutil.which("pdftoppm"):
        return
    folder = a11y.artifacts("languages", f"pdf-{lang}")
    (folder / "plan.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "8", "plan.pdf", "page"],
        cwd=folder,
        check=True,
        timeout=120,
    )
