"""Reading what people and regulators receive: a PDF's text, and any stored code shown raw in it."""

from __future__ import annotations

import re
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from django.apps import apps


def pdf_text(pdf: bytes, *, layout: bool = True) -> str:
    """The text of a PDF: laid out as on the page, or (layout=False) each cell's text in reading order."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "document.pdf"
        path.write_bytes(bytes(pdf))
        command = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@cache
def stored_codes() -> frozenset[str]:
    """Every code any of our models stores for a choice (FaceRights' own apps)."""
    codes = set()
    for config in apps.get_app_configs():
        if config.label not in ("facerights", "consent", "dataops"):
            continue
        for model in config.get_models():
            for field in model._meta.get_fields():
                base = getattr(field, "base_field", None)
                choices = getattr(field, "choices", None) or (base.choices if base is not None else None)
                codes.update(str(code) for code, _label in choices or [])
    return frozenset(code for code in codes if re.fullmatch(r"[a-z][a-z_]+", code))


def raw_codes(text: str, language: str) -> set[str]:
    """The stored codes a reader would see as such: in Chinese, any; in English, those no word is spelt as."""
    words = set(re.findall(r"(?<![\w@./-])[a-z][a-z_]+(?![\w@./-])", text))
    found = words & stored_codes()
    return found if language == "zh" else {code for code in found if "_" in code}
