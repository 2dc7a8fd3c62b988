"""The compliance matrix (docs/compliance.md), read for the admin, the filing bundle and its check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

MATRIX_PATH = Path(settings.BASE_DIR) / "docs" / "compliance.md"
STATES = ("met", "partly met", "not yet")
_HEADING = re.compile(r"^### (R\d+) · (.+)$")
_FIELD = re.compile(r"^- (Source|Reading|Does|Code|Tests|State): (.*)$")
_TEST_ID = re.compile(r"`([^`]+\.py::[^`]+)`")


@dataclass
class Obligation:
    ref: str
    title: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return int(self.ref[1:])

    @property
    def tests(self) -> list[str]:
        return _TEST_ID.findall(self.fields.get("Tests", ""))

    @property
    def state(self) -> str:
        text = self.fields.get("State", "").lower()
        return next((state for state in STATES if text.startswith(state)), "")

    @property
    def state_note(self) -> str:
        text = self.fields.get("State", "")
        return text[len(self.state) :].lstrip(" .") if self.state else text


def obligations_parse(text: str) -> list[Obligation]:
    obligations: list[Obligation] = []
    current_field = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            obligations.append(Obligation(ref=heading.group(1), title=heading.group(2).strip()))
            current_field = None
            continue
        if not obligations:
            continue
        match = _FIELD.match(line)
        if match:
            current_field = match.group(1)
            obligations[-1].fields[current_field] = match.group(2).strip()
        elif current_field and line.startswith("  ") and line.strip():
            obligations[-1].fields[current_field] += " " + line.strip()
        elif not line.strip():
            current_field = None
    return obligations


def obligations_load(path: Path = MATRIX_PATH) -> list[Obligation]:
    return obligations_parse(path.read_text(encoding="utf-8"))
