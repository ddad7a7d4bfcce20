"""How a typed answer is compared with choices and command words.

Everything is compared after NFKC normalisation (full-width digits and letters become ASCII,
half-width katakana becomes full-width), with surrounding space removed, inner space collapsed
and case folded, so that 「１」, "1", "ＳＴＯＰ" and "stop" match as people expect.
"""

from __future__ import annotations

import unicodedata

_TRIM = " \t\r\n\u3000「」『』\"'.。!！?？"


def normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.strip(_TRIM).split())


def as_number(text: str) -> int | None:
    """A choice number ("2", "２", "2番") as an int, else None."""
    norm = normalize(text)
    if norm.endswith("番"):
        norm = norm[:-1].strip()
    return int(norm) if norm.isascii() and norm.isdigit() and len(norm) <= 3 else None
