"""Texts in a flow file: a text for each of the flow's languages, each short enough for LINE.

The step builder and the top-level builder both read texts (step texts, button labels, the
engine's messages, command replies), so the rules live once, here.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from .model import Pos, Text
from .report import Report
from .yamlnodes import key_pos, value_pos

MAX_TEXT = 5000  # LINE: characters in one message
MAX_LABEL = 20  # LINE: characters on a quick-reply button


class TextReader:
    def __init__(self, report: Report, languages: tuple[str, ...]) -> None:
        self.r = report
        self.languages = languages

    def optional(self, parent: CommentedMap, key: str, step: str | None, *, what: str,
                 max_len: int = MAX_TEXT) -> Text | None:
        """The text under `key` if the field is there at all (an empty one is still reported)."""
        return self.read(parent, key, step, what=what, max_len=max_len) if key in parent else None

    def read(self, parent: CommentedMap, key: str, step: str | None, *, what: str,
             max_len: int = MAX_TEXT) -> Text | None:
        """The text under `key`: one per language, or a single one when the flow has one language."""
        r = self.r
        node = parent.get(key)
        pos = value_pos(parent, key)
        if isinstance(node, (str, int, float)) and not isinstance(node, bool):
            if len(self.languages) > 1:
                r.error(pos, step, f"the {what} is written once but this flow has the languages "
                        f"{', '.join(self.languages)}; write it as '{self.languages[0]}: …' and "
                        f"'{self.languages[1]}: …' on separate lines under '{key}:'")
            return self._check(Text(((self.languages[0], str(node)),), pos), {self.languages[0]: pos},
                               step, what, max_len)
        if not isinstance(node, CommentedMap):
            r.error(pos, step, f"the {what} is empty; give a text for each language ({', '.join(self.languages)})")
            return None
        pairs: list[tuple[str, str]] = []
        where: dict[str, Pos] = {}
        for lang in node:
            lpos = value_pos(node, lang)
            value = node[lang]
            if lang not in self.languages:
                r.error(key_pos(node, lang), step, f"'{lang}' is not one of this flow's languages "
                        f"({', '.join(self.languages)}); fix the language code or add it to 'languages:'")
                continue
            if value is None or isinstance(value, (bool, list, dict)) or not str(value).strip():
                r.error(lpos, step, f"the {lang} {what} is empty")
                continue
            pairs.append((str(lang), str(value)))
            where[str(lang)] = lpos
        missing = [lang for lang in self.languages if lang not in where]
        for lang in missing:
            r.error(pos, step, f"the {what} has no {lang} text; add a line '{lang}: …' under '{key}:'")
        return self._check(Text(tuple(pairs), pos), where, step, what, max_len)

    def _check(self, text: Text, where: dict[str, Pos], step: str | None, what: str, max_len: int) -> Text:
        for lang, value in text.by_lang:
            if len(value) > max_len:
                if max_len == MAX_LABEL:
                    self.r.error(where[lang], step, f"the {lang} {what} '{value}' is {len(value)} characters; "
                                 f"LINE shows at most {MAX_LABEL} on a button, so shorten it")
                else:
                    self.r.error(where[lang], step, f"the {lang} {what} is {len(value)} characters; "
                                 f"LINE accepts at most {MAX_TEXT} in one message, so shorten or split it")
        return text
