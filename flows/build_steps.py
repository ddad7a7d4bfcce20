"""The steps of a flow file as model values: each kind's fields, choices, cases, and the implicit
'next' (the step below in the file) filled in.

Every step that can be read is built even when others cannot, so that one run reports every
problem; the ids of steps too broken to build are kept, so links to them are not reported again.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .build_text import MAX_LABEL, MAX_TEXT, TextReader
from .matching import normalize_pattern
from .model import (
    END_REASONS,
    STEP_KINDS,
    Ask,
    AskText,
    Branch,
    Case,
    ChoiceDef,
    End,
    Handoff,
    Pos,
    Say,
    SetValues,
    Step,
    Text,
)
from .report import Report, a_or_an, did_you_mean
from .yamlnodes import item_pos, key_pos, node_pos, plain, plain_scalar, reformatted_number, value_pos

MAX_CHOICES = 13  # LINE: quick-reply buttons under one message
COMMON_FIELDS = ("id", "kind", "note")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "say": ("text", "next"),
    "ask": ("text", "choices", "save_as", "multiple", "sets_language", "more", "done", "invalid", "next"),
    "ask_text": ("text", "save_as", "max_length", "pattern", "invalid", "skip", "next"),
    "branch": ("cases", "otherwise"),
    "set": ("values", "next"),
    "handoff": ("text",),
    "end": ("text", "reason"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "say": ("text",),
    "ask": ("text", "choices"),
    "ask_text": ("text", "save_as"),
    "branch": ("cases",),
    "set": ("values",),
    "handoff": ("text",),
    "end": (),
}
CHOICE_FIELDS = ("value", "label", "next", "urgent", "synonyms", "patterns", "range")
STEP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
VAR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class StepsBuilder:
    def __init__(self, report: Report, texts: TextReader, languages: tuple[str, ...]) -> None:
        self.r = report
        self.texts = texts
        self.languages = languages
        self.broken_ids: set[str] = set()  # steps too broken to build

    def build(self, root: CommentedMap) -> list[Step] | None:
        """The steps under 'steps:', linked; None if there are none to build a flow from."""
        r = self.r
        node = root.get("steps")
        if not isinstance(node, CommentedSeq) or not node:
            r.error(value_pos(root, "steps") if "steps" in root else Pos(1, 1), None,
                    "the flow needs 'steps:', a list of steps each starting with '- id:'")
            return None
        steps: list[Step] = []
        first_seen: dict[str, Pos] = {}
        for i, item in enumerate(node):
            if not isinstance(item, CommentedMap):
                r.error(item_pos(node, i), None, "each step must have fields such as 'id:' and 'kind:'")
                continue
            step = self._step(item)
            if step is None:
                if isinstance(item.get("id"), str):
                    self.broken_ids.add(item["id"])
                continue
            if step.id in first_seen:
                r.error(value_pos(item, "id"), step.id, f"another step already has the id '{step.id}' "
                        f"(line {first_seen[step.id].line}); every step needs its own id")
                continue
            first_seen[step.id] = step.pos
            steps.append(step)
        if not steps:
            return None
        return self._link(steps, node)

    def _step(self, node: CommentedMap) -> Step | None:
        r = self.r
        pos = node_pos(node)
        step_id = node.get("id")
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            r.error(value_pos(node, "id") if "id" in node else pos, None,
                    "a step needs an 'id:' made of letters, digits and _ (starting with a letter)")
            return None
        kind = node.get("kind")
        if kind not in STEP_KINDS:
            if kind is None:
                r.error(key_pos(node, "id"), step_id, "missing 'kind:'; use one of: " + ", ".join(STEP_KINDS))
            else:
                r.error(value_pos(node, "kind"), step_id, f"unknown step kind '{kind}'"
                        f"{did_you_mean(str(kind), STEP_KINDS)}; use one of: " + ", ".join(STEP_KINDS))
            return None
        allowed = COMMON_FIELDS + KIND_FIELDS[kind]
        for key in node:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                if not hint and key == "next" and kind == "branch":
                    hint = " (a branch uses 'otherwise:' for where to go when no case matches)"
                r.error(key_pos(node, key), step_id, f"unknown field '{key}' for {a_or_an(kind)} step{hint}; "
                        f"{a_or_an(kind)} step may have: " + ", ".join(KIND_FIELDS[kind]))
        for key in REQUIRED_FIELDS[kind]:
            if key not in node:
                r.error(key_pos(node, "kind"), step_id, f"{a_or_an(kind)} step needs '{key}:'")
        nxt, nxt_pos = self._target(node, "otherwise" if kind == "branch" else "next", step_id)
        base = dict(id=step_id, kind=kind, pos=pos, next=nxt, next_pos=nxt_pos)
        text = self.texts.optional(node, "text", step_id, what="text")
        if kind == "say":
            return Say(**base, text=text or Text(()))
        if kind == "ask":
            return self._ask(node, base, text)
        if kind == "ask_text":
            return self._ask_text(node, base, text)
        if kind == "branch":
            return Branch(**base, cases=self._cases(node, step_id))
        if kind == "set":
            return SetValues(**base, values=self._values(node, step_id))
        if kind == "handoff":
            return Handoff(**base, text=text)
        reason = node.get("reason", "completed")
        if reason not in END_REASONS:
            r.error(value_pos(node, "reason"), step_id, f"reason '{reason}' is not known; use completed or stopped")
            reason = "completed"
        return End(**base, text=text, reason=reason)

    def _target(self, node: CommentedMap, key: str, step_id: str) -> tuple[str | None, Pos | None]:
        if key not in node:
            return None, None
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            self.r.error(value_pos(node, key), step_id, f"'{key}:' must name a step id")
            return None, None
        return value, value_pos(node, key)

    def _save_as(self, node: CommentedMap, step_id: str) -> str | None:
        if "save_as" not in node:
            return None
        value = node["save_as"]
        if not isinstance(value, str) or not VAR_NAME.match(value):
            self.r.error(value_pos(node, "save_as"), step_id,
                         "'save_as:' must be a name in lower-case letters, digits and _ (like age_band)")
            return None
        return value

    def _flag(self, node: CommentedMap, key: str, step_id: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.r.error(value_pos(node, key), step_id, f"'{key}:' must be true or false")
            return False
        return value

    def _ask(self, node: CommentedMap, base: dict[str, Any], text: Text | None) -> Ask:
        r, step_id = self.r, base["id"]
        multiple = self._flag(node, "multiple", step_id)
        sets_language = self._flag(node, "sets_language", step_id)
        more = self.texts.optional(node, "more", step_id, what="'more' label", max_len=MAX_LABEL)
        done = self.texts.optional(node, "done", step_id, what="'done' label", max_len=MAX_LABEL)
        invalid = self.texts.optional(node, "invalid", step_id, what="'invalid' text")
        if done is not None and not multiple:
            r.error(key_pos(node, "done"), step_id, "'done:' is only for questions with 'multiple: true'")
        choices: list[ChoiceDef] = []
        seq = node.get("choices")
        if "choices" in node and (not isinstance(seq, CommentedSeq) or not seq):
            r.error(
                value_pos(node, "choices"), step_id, "'choices:' must be a list of choices, each with value and label"
            )
            seq = None
        seen_values: dict[str, int] = {}
        for i, item in enumerate(seq or ()):
            if not isinstance(item, CommentedMap):
                r.error(item_pos(seq, i), step_id, "each choice needs 'value:' and 'label:'")
                continue
            for key in item:
                if key not in CHOICE_FIELDS:
                    r.error(key_pos(item, key), step_id, f"unknown field '{key}' in a choice"
                            f"{did_you_mean(str(key), CHOICE_FIELDS)}; a choice may have: " + ", ".join(CHOICE_FIELDS))
            if "value" not in item:
                r.error(item_pos(seq, i), step_id, "this choice needs 'value:' (what is saved when it is chosen)")
                continue
            value = item["value"]
            if isinstance(value, (list, dict)):
                r.error(
                    value_pos(item, "value"),
                    step_id,
                    "a choice value must be a single word, number, true, false or null",
                )
                continue
            if reformatted_number(value):
                r.error(value_pos(item, "value"), step_id, f"this value is read as the number {int(value)}, not as "
                        "written; put it in quotes (for example \"01\" or \"13_15\") to keep it as text")
                continue
            value = plain_scalar(value)
            label = self.texts.optional(item, "label", step_id, what="label", max_len=MAX_LABEL)
            if label is None:
                if "label" not in item:
                    r.error(item_pos(seq, i), step_id, "this choice needs 'label:' (the button text)")
                continue
            nxt, nxt_pos = self._target(item, "next", step_id)
            if nxt is not None and multiple:
                r.error(
                    key_pos(item, "next"),
                    step_id,
                    "in a question with several answers (multiple: true), 'next:' belongs to the step, not to a choice",
                )
                nxt = None
            urgent = self._flag(item, "urgent", step_id)
            choice = ChoiceDef(
                value=value, label=label, next=nxt, urgent=urgent, pos=item_pos(seq, i), next_pos=nxt_pos,
                synonyms=self._words(item, "synonyms", step_id), patterns=self._patterns(item, step_id),
                range=self._range(item, step_id),
            )
            if choice.key in seen_values:
                r.error(value_pos(item, "value"), step_id, f"two choices have the value '{choice.key}' "
                        f"(the other is on line {seen_values[choice.key]}); values must differ")
                continue
            seen_values[choice.key] = choice.pos.line
            choices.append(choice)
        extra = 1 if multiple else 0
        if more is None and len(choices) + extra > MAX_CHOICES:
            count = f"{len(choices)} choices" + (" plus the 'done' button" if multiple else "")
            r.error(key_pos(node, "choices"), step_id, f"this question has {count}, but LINE shows at most "
                    f"{MAX_CHOICES} buttons; remove some, split the question in two, or add a 'more:' label so the "
                    "choices are shown over several pages")
        if sets_language and not any(c.key in self.languages for c in choices):
            r.warning(key_pos(node, "sets_language"), step_id, "'sets_language: true' but no choice value is one of "
                      f"the flow's languages ({', '.join(self.languages)}), so the language never changes")
        return Ask(**base, text=text or Text(()), choices=tuple(choices), save_as=self._save_as(node, step_id),
                   multiple=multiple, sets_language=sets_language, more=more, done=done, invalid=invalid)

    def _words(self, item: CommentedMap, key: str, step_id: str) -> tuple[str, ...]:
        return tuple(word for word, _ in self._word_items(item, key, step_id))

    def _word_items(self, item: CommentedMap, key: str, step_id: str) -> list[tuple[str, Pos]]:
        """A choice's list of words (synonyms or patterns), each with its place: texts or numbers,
        none empty."""
        if key not in item:
            return []
        seq = item[key]
        if isinstance(seq, (str, int)) and not isinstance(seq, bool):
            return [(str(seq).strip(), value_pos(item, key))] if str(seq).strip() else []
        if not isinstance(seq, list) or not seq:
            self.r.error(value_pos(item, key), step_id, f"'{key}:' must be a list of words, like [孤独, ひとりぼっち]")
            return []
        words: list[tuple[str, Pos]] = []
        for i, word in enumerate(seq):
            where = item_pos(seq, i) if isinstance(seq, CommentedSeq) else value_pos(item, key)
            if isinstance(word, bool) or not isinstance(word, (str, int, float)) or not str(word).strip():
                self.r.error(where, step_id, f"'{key}:' has an empty or odd entry; write words or numbers")
                continue
            words.append((str(word).strip(), where))
        return words

    def _patterns(self, item: CommentedMap, step_id: str) -> tuple[str, ...]:
        out: list[str] = []
        for word, where in self._word_items(item, "patterns", step_id):
            pattern = normalize_pattern(word)
            try:
                compiled = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                self.r.error(where, step_id, f"the pattern '{word}' is not a valid regular expression ({exc}); "
                             "to find the characters themselves, put a \\ before ( ) [ ] . * + ? | or leave them out")
                continue
            if compiled.search("") is not None:
                self.r.error(where, step_id, f"the pattern '{word}' matches any answer at all; make it a word")
                continue
            out.append(pattern)
        return tuple(out)

    def _range(self, item: CommentedMap, step_id: str) -> tuple[int, int] | None:
        if "range" not in item:
            return None
        value = item["range"]
        ok = (isinstance(value, list) and len(value) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value))
        if not ok or value[0] > value[1]:
            self.r.error(value_pos(item, "range"), step_id, "'range:' must be two whole numbers, lowest first, "
                         "like [30, 39] (both ends included)")
            return None
        return int(value[0]), int(value[1])

    def _ask_text(self, node: CommentedMap, base: dict[str, Any], text: Text | None) -> AskText:
        r, step_id = self.r, base["id"]
        max_length = node.get("max_length")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or not 0 < max_length <= MAX_TEXT
        ):
            r.error(value_pos(node, "max_length"), step_id,
                    f"'max_length:' must be a whole number from 1 to {MAX_TEXT}")
            max_length = None
        pattern = node.get("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
                pattern = str(pattern)
            except re.error as exc:
                r.error(value_pos(node, "pattern"), step_id, f"'pattern:' is not a valid regular expression ({exc})")
                pattern = None
        invalid = self.texts.optional(node, "invalid", step_id, what="'invalid' text")
        skip = self.texts.optional(node, "skip", step_id, what="'skip' label", max_len=MAX_LABEL)
        return AskText(**base, text=text or Text(()), save_as=self._save_as(node, step_id) or "",
                       max_length=max_length, pattern=pattern, invalid=invalid, skip=skip)

    def _cases(self, node: CommentedMap, step_id: str) -> tuple[Case, ...]:
        r = self.r
        seq = node.get("cases")
        if not isinstance(seq, CommentedSeq) or not seq:
            if "cases" in node:
                r.error(value_pos(node, "cases"), step_id, "'cases:' must be a list of '- when: …' and 'next: …'")
            return ()
        out: list[Case] = []
        for i, item in enumerate(seq):
            pos = item_pos(seq, i)
            if not isinstance(item, CommentedMap):
                r.error(pos, step_id, "each case needs 'when:' and 'next:'")
                continue
            for key in item:
                if key not in ("when", "next"):
                    r.error(key_pos(item, key), step_id,
                            f"unknown field '{key}' in a case; a case has 'when:' and 'next:'")
            when = item.get("when")
            nxt, nxt_pos = self._target(item, "next", step_id)
            if not isinstance(when, CommentedMap) or not when:
                r.error(value_pos(item, "when") if "when" in item else pos, step_id,
                        "'when:' must name an answer and the value(s) to match, like 'when: {danger: \"yes\"}'")
                continue
            if nxt is None:
                if "next" not in item:
                    r.error(pos, step_id, "this case needs 'next:' (the step to go to when it matches)")
                continue
            conditions: list[tuple[str, Any]] = []
            for var in when:
                value = when[var]
                if not isinstance(var, str) or not VAR_NAME.match(var):
                    r.error(key_pos(when, var), step_id, f"'{var}' is not an answer name")
                    continue
                if isinstance(value, dict):
                    r.error(value_pos(when, var), step_id, "compare an answer with a value or a list of values")
                    continue
                conditions.append(
                    (var, tuple(plain_scalar(v) for v in value) if isinstance(value, list) else plain_scalar(value))
                )
            out.append(Case(when=tuple(conditions), next=nxt, pos=pos, next_pos=nxt_pos))
        return tuple(out)

    def _values(self, node: CommentedMap, step_id: str) -> tuple[tuple[str, object], ...]:
        values = node.get("values")
        if not isinstance(values, CommentedMap) or not values:
            if "values" in node:
                self.r.error(value_pos(node, "values"), step_id, "'values:' must map answer names to values")
            return ()
        out: list[tuple[str, object]] = []
        for var in values:
            if not isinstance(var, str) or not VAR_NAME.match(var):
                self.r.error(key_pos(values, var), step_id,
                             f"'{var}' is not an answer name (lower-case letters, digits, _)")
                continue
            out.append((var, plain(values[var])))
        return tuple(out)

    def _link(self, steps: list[Step], node: CommentedSeq) -> list[Step]:
        """Fill in the implicit 'next' (the following step in the file) and flag dead ends."""
        linked: list[Step] = []
        for i, step in enumerate(steps):
            following = steps[i + 1].id if i + 1 < len(steps) else None
            if isinstance(step, (Handoff, End)):
                linked.append(step)
                continue
            needs_default = step.next is None
            if isinstance(step, Ask) and not step.multiple and step.choices:
                needs_default = step.next is None and any(c.next is None for c in step.choices)
            if needs_default:
                if following is None:
                    self.r.error(step.pos, step.id, "this is the last step and it does not finish the conversation; "
                                 "add 'next:' with a step id, or end the flow with an end or handoff step")
                elif not (isinstance(step, Ask) and not step.multiple and step.choices and step.next is None
                          and all(c.next for c in step.choices)):
                    step = dataclasses.replace(step, next=following, next_pos=None)
            linked.append(step)
        return linked
