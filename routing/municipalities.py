"""Municipalities by their official code (全国地方公共団体コード: JIS X 0401 prefecture, JIS X 0402
municipality, and a check digit), from routing/data/municipalities.json.

The list is data taken from a maintained package (see the file's "source", and
tools/refresh_municipalities.py, which refreshes it); nobody keeps it by hand. Codes are the six
digits with the check digit ("131016" 千代田区); five-digit codes without it are accepted wherever a
person writes one, and checked. Designated cities (政令指定都市) are municipalities whose wards have
codes of their own: a ward belongs to its city (`city_of`), so a partner that serves the city serves
its wards.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

KINDS = ("city", "town", "village", "special_ward", "ward")


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str  # 札幌市; a ward: 中央区 (see full_name)
    reading: str  # さっぽろし
    name_en: str  # Sapporo City
    kind: str  # one of KINDS; "ward" is a ward of a designated city
    parent: str | None = None  # a ward's city

    @property
    def prefecture(self) -> str:
        return self.code[:2]

    @property
    def city(self) -> str:
        """The municipality itself, or a ward's city: what the intake asks for."""
        return self.parent or self.code

    @property
    def full_name(self) -> str:
        """札幌市中央区 for a ward, the name otherwise."""
        if self.parent is not None:
            return table().by_code[self.parent].name + self.name
        return self.name


def data_path() -> Path:
    return Path(str(resources.files("routing") / "data" / "municipalities.json"))


@dataclass(frozen=True)
class Table:
    by_code: Mapping[str, Municipality]
    by_prefecture: Mapping[str, tuple[Municipality, ...]]  # municipalities (no wards), in code order
    source: Mapping[str, Any]
    as_of: str | None


@lru_cache(maxsize=1)
def table() -> Table:
    """The list, read once (the only I/O: reading the package's own data file)."""
    data = json.loads(data_path().read_text(encoding="utf-8"))
    rows = [Municipality(code, name, reading, name_en, kind, parent)
            for code, name, reading, name_en, kind, parent in data["municipalities"]]
    by_pref: dict[str, list[Municipality]] = {}
    for m in rows:
        if m.kind != "ward":
            by_pref.setdefault(m.prefecture, []).append(m)
    return Table(
        by_code=MappingProxyType({m.code: m for m in rows}),
        by_prefecture=MappingProxyType({p: tuple(ms) for p, ms in by_pref.items()}),
        source=MappingProxyType(data["source"]),
        as_of=data.get("as_of"),
    )


def check_digit(five: str) -> int:
    """The check digit of a five-digit code (総務省: weights 6, 5, 4, 3, 2; modulus 11)."""
    total = sum(int(d) * w for d, w in zip(five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def normalize_code(text: object) -> str | None:
    """The six-digit code of a known municipality or ward written as six digits (checked) or five
    (the check digit added); None for anything else."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = f"{text:05d}" if text < 100000 else f"{text:06d}"
    if not isinstance(text, str):
        return None
    digits = unicodedata.normalize("NFKC", text).strip()
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == 5:
        digits += str(check_digit(digits))
    elif len(digits) != 6 or check_digit(digits[:5]) != int(digits[5]):
        return None
    return digits if digits in table().by_code else None


def get(code: str | None) -> Municipality | None:
    return table().by_code.get(code) if code else None


def city_of(code: str) -> str:
    """A ward's city; any other code itself."""
    found = get(code)
    return found.city if found else code


def of_prefecture(prefecture: str) -> tuple[Municipality, ...]:
    """The prefecture's municipalities (Tokyo's special wards included; wards of designated cities
    not), in code order."""
    return table().by_prefecture.get(prefecture, ())


def _fold(text: str) -> str:
    """For comparing names: NFKC, no spaces, katakana as hiragana, case folded."""
    text = unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "").casefold()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def find(text: str, *, prefecture: str | None = None) -> list[Municipality]:
    """Municipalities (and wards) a coordinator's or person's words name: a code, 札幌市, さっぽろし,
    Sapporo City, 横浜市港北区; the best matches first. Several results mean the words are ambiguous."""
    code = normalize_code(text)
    if code is not None:
        return [table().by_code[code]]
    want = _fold(text)
    if not want:
        return []
    found: list[Municipality] = []
    for m in table().by_code.values():
        if prefecture is not None and m.prefecture != prefecture:
            continue
        names = {_fold(m.full_name), _fold(m.reading), _fold(m.name_en)}
        if m.parent is None:
            names.add(_fold(m.name))
        if want in names:
            found.append(m)
    return found
