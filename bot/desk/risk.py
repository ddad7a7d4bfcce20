"""Risk words: a lexicon coordinators edit (bot/data/risk_words.yaml) and a scan of one text.

A match only raises priority and marks the card; it never blocks or changes a message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML

from .errors import DeskError


@dataclass(frozen=True)
class RiskHit:
    score: int
    words: tuple[str, ...]  # as written in the lexicon

    def __bool__(self) -> bool:
        return bool(self.words)


NO_RISK = RiskHit(0, ())


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class RiskLexicon:
    entries: tuple[tuple[str, int, re.Pattern[str] | None], ...]  # (word, weight, latin pattern)

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "<risk words>") -> RiskLexicon:
        if not isinstance(data, dict) or not isinstance(data.get("words"), dict):
            raise DeskError(f"{source}: expected 'weights' and 'words' mappings")
        weights = data.get("weights") or {}
        entries = []
        for group, words in data["words"].items():
            weight = weights.get(group, 1)
            if not isinstance(weight, int) or weight < 0:
                raise DeskError(f"{source}: weight of {group!r} must be a whole number of 0 or more")
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise DeskError(f"{source}: words of {group!r} must be a list of non-empty texts")
            for word in words:
                norm = _norm(word.strip())
                pattern = re.compile(rf"(?<![a-z0-9]){re.escape(norm)}(?![a-z0-9])") if norm.isascii() else None
                entries.append((word.strip(), weight, pattern))
        return cls(tuple(entries))

    @classmethod
    def load(cls, path: str | Path | None = None) -> RiskLexicon:
        """The lexicon at `path`, or the bundled bot/data/risk_words.yaml."""
        try:
            if path is None:
                text = resources.files("bot").joinpath("data/risk_words.yaml").read_text("utf-8")
                source = "risk_words.yaml"
            else:
                text, source = Path(path).read_text("utf-8"), str(path)
        except OSError as exc:
            raise DeskError(f"{path}: cannot read risk words: {exc.strerror or exc}") from None
        try:
            data = YAML(typ="safe").load(text)
        except Exception as exc:  # ruamel's errors quote positions, not secrets
            raise DeskError(f"{source}: not valid YAML: {exc}") from None
        return cls.from_mapping(data, source=source)

    def weight(self, word: str) -> int:
        return next((w for e, w, _ in self.entries if e == word), 0)

    def scan(self, text: str | None) -> RiskHit:
        if not text:
            return NO_RISK
        norm = _norm(text)
        found: list[str] = []
        score = 0
        for word, weight, pattern in self.entries:
            hit = pattern.search(norm) is not None if pattern else _norm(word) in norm
            if hit and word not in found:
                found.append(word)
                score += weight
        return RiskHit(score, tuple(found)) if found else NO_RISK
