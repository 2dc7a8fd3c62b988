"""Wording a notice may not use: phrases that make face recognition look compulsory.

Measures Art 10 forbids making face recognition the only way to verify identity and
forbids misleading, fraudulent or coercive ways of obtaining consent (R10, R8). A
notice that says "face scan required" tells people the opposite of their rights,
so a draft with such a phrase is refused, the phrase named.

The list is deliberately narrow (a phrase that states compulsion, not any mention
of faces); docs/legal-readings.md keeps the reasons. Matching ignores case and
collapses whitespace, so "Face  Scan Required" is caught too.
"""

from __future__ import annotations

import re

# Each pattern is matched against the text with whitespace collapsed.
COERCIVE_PATTERNS = [
    # Chinese: "must scan the face", "only by face", "face recognition is compulsory", ...
    r"必须(?:进行|使用|通过|采用)?(?:刷脸|人脸识别|人脸验证|人脸核验)",
    r"(?:只能|仅能|仅可|只可|仅支持|只支持)(?:通过|使用|采用)?(?:刷脸|人脸)",
    r"强制(?:刷脸|人脸识别|采集人脸)",
    r"(?:刷脸|人脸识别)(?:是)?(?:唯一|强制)",
    r"不(?:刷脸|进行人脸识别|同意人脸识别)(?:的|者)?(?:将)?(?:不能|无法|不得|不予|禁止)",
    r"(?:无|没有|不提供)(?:其他|其它)(?:验证|核验|通行)?(?:方式|方法)",
    # English
    r"face\s*(?:scan|scanning|recognition|verification|id)\s*(?:is\s*)?(?:required|mandatory|compulsory|obligatory)",
    r"(?:must|have\s*to|required\s*to)\s*(?:scan|use|verify\s*with|pass)\s*(?:your|a|the)?\s*face",
    r"(?:only|solely)\s*(?:by|with|through|via)\s*(?:a\s*)?face",
    r"no\s*(?:other\s*)?alternatives?\s*(?:is|are)?\s*(?:available|offered|provided)",
    r"without\s*(?:a\s*)?face\s*(?:scan|recognition)[^.。]*(?:cannot|can\s*not|will\s*not|may\s*not|denied|refused)",
]
_COMPILED = [re.compile(pattern, re.IGNORECASE) for pattern in COERCIVE_PATTERNS]


def coercive_phrases(text: str) -> list[str]:
    """The coercive phrases found in a text, as written there (empty when there are none)."""
    flat = re.sub(r"\s+", " ", text)
    found: list[str] = []
    for pattern in _COMPILED:
        found.extend(match.group(0) for match in pattern.finditer(flat))
    return found
