"""How a typed answer is compared with choices and command words.

Everything is compared after the same tidy-up on both sides: NFKC normalisation (full-width digits
and letters become ASCII, half-width katakana becomes full-width), katakana folded to hiragana (so
「トウキョウ」 and 「とうきょう」 are the same), case folded, surrounding space and brackets removed and
inner space collapsed; so 「１」, "1", "ＳＴＯＰ" and "stop" match as people expect.

Besides the words themselves, a person may answer with an amount ("35", "35歳", 「三十五歳」,
"30代", "30s"): `amount` reads the one number an answer states, for the questions whose choices
are ranges.
"""

from __future__ import annotations

import re
import unicodedata

_TRIM = " \t\r\n\u3000「」『』\"'.。!！?？"
_KATAKANA = re.compile("[\u30a1-\u30f6]")
_DIGITS = re.compile(r"(\d{1,3})\s*(歳|才|さい|代|s\b|years?\s*old|yrs?\b|yo\b)?")
_KANJI_AMOUNT = re.compile(r"([〇零一二三四五六七八九十百]+)\s*(歳|才|さい|代)")
_KANJI_ONLY = re.compile(r"[〇零一二三四五六七八九十百]+")
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def kana_fold(text: str) -> str:
    """Katakana as hiragana (ヴ as ゔ); everything else as it was."""
    return _KATAKANA.sub(lambda m: chr(ord(m.group()) - 0x60), text)


def normalize(text: str) -> str:
    folded = kana_fold(unicodedata.normalize("NFKC", text)).casefold()
    return " ".join(folded.strip(_TRIM).split())


def normalize_pattern(pattern: str) -> str:
    """A choice's pattern brought to the form of a normalised answer (width and kana; case is
    ignored when searching, so escapes such as \\D keep their meaning)."""
    return kana_fold(unicodedata.normalize("NFKC", pattern))


def search(pattern: str, norm_text: str) -> int | None:
    """Where a normalised pattern first occurs in a normalised answer; None if it does not."""
    found = re.search(pattern, norm_text, re.IGNORECASE)
    return found.start() if found else None


def as_number(text: str) -> int | None:
    """A choice number ("2", "２", "2番") as an int, else None."""
    norm = normalize(text)
    if norm.endswith("番"):
        norm = norm[:-1].strip()
    return int(norm) if norm.isascii() and norm.isdigit() and len(norm) <= 3 else None


def kanji_number(text: str) -> int | None:
    """A number written in kanji up to 199 (「三十五」 35, 「二十」 20, 「百」 100); None otherwise."""
    if not text or not _KANJI_ONLY.fullmatch(text):
        return None
    total, rest = 0, text
    if "百" in rest:
        head, rest = rest.split("百", 1)
        if head not in ("", "一") or "百" in rest:
            return None
        total += 100
    if "十" in rest:
        head, rest = rest.split("十", 1)
        if "十" in rest or len(head) > 1 or (head and head not in _KANJI_DIGITS):
            return None
        total += 10 * (_KANJI_DIGITS[head] if head else 1)
    if len(rest) > 1:
        return None
    if rest:
        total += _KANJI_DIGITS[rest]
    return total


def amount(text: str) -> tuple[int, int] | None:
    """The one amount an answer states, as an inclusive range: "35", "35歳", 「三十五歳」 give (35, 35),
    "30代", "30s", 「三十代」 (30, 39). None when it states none, or more than one."""
    norm = normalize(text)
    found: list[tuple[int, bool]] = []
    for match in _DIGITS.finditer(norm):
        found.append((int(match.group(1)), match.group(2) in ("代", "s")))
    for match in _KANJI_AMOUNT.finditer(norm):
        number = kanji_number(match.group(1))
        if number is not None:
            found.append((number, match.group(2) == "代"))
    if not found and (number := kanji_number(norm)) is not None:
        found.append((number, False))
    if len(found) != 1:
        return None
    number, decade = found[0]
    return (number, number + 9) if decade else (number, number)
