"""Every user-facing string is translated into Simplified Chinese, and the catalogue is current."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SOURCES = ["facerights", "consent", "dataops", "portal", "templates", "manage.py"]


def _entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry of a .po file, header excluded."""
    entries = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block or re.search(r"^#,.*fuzzy", block, re.M) is not None
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if "msgid" in fields and fields["msgid"]:
            msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
            entries.append((fields["msgid"], msgstr, fuzzy))
    return entries


def test_every_string_has_a_chinese_translation():
    entries = _entries(PO.read_text())
    assert entries
    missing = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert missing == [], f"untranslated or fuzzy in {PO.relative_to(ROOT)}: {missing[:10]}"


def test_placeholders_survive_translation():
    for msgid, msgstr, _fuzzy in _entries(PO.read_text()):
        assert sorted(re.findall(r"%\(\w+\)[sd]", msgid)) == sorted(re.findall(r"%\(\w+\)[sd]", msgstr)), msgid


def test_the_catalogue_holds_every_string_in_the_code(tmp_path):
    """Run makemessages on a copy of the sources: no new string may appear."""
    for name in SOURCES + ["locale"]:
        source = ROOT / name
        target = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, target)
    env = {**os.environ, "DEBUG": "true", "FACERIGHTS_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "--ignore=*/tests/*"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    before = {msgid for msgid, _s, _f in _entries(PO.read_text())}
    after = {msgid for msgid, _s, _f in _entries((tmp_path / PO.relative_to(ROOT)).read_text())}
    assert after - before == set(), "run `make messages` and translate the new strings"
