"""Read a flow file into a `Flow`, or say exactly what is wrong and where.

The people who edit these files are coordinators, not programmers: every problem names the file,
line, column and step, and says how to fix it. Parsing keeps going after an error so that one run
shows every problem at once. The cross-step checks live in `checks.py`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from . import checks
from .errors import FlowValidationError, Problem
from .model import (
    COMMAND_ACTIONS,
    END_REASONS,
    STEP_KINDS,
    Ask,
    AskText,
    Branch,
    Case,
    ChoiceDef,
    Command,
    End,
    Flow,
    Handoff,
    Pos,
    Say,
    SetValues,
    Step,
    Text,
)
from .texts import BUILTIN, LABELS

SCHEMA_VERSIONS = (1,)
MAX_TEXT = 5000
MAX_LABEL = 20
MAX_CHOICES = 13
DEFAULT_REMINDER = timedelta(minutes=30)
DEFAULT_EXPIRE = timedelta(hours=2)

TOP_FIELDS = ("version", "id", "title", "languages", "timeouts", "commands", "messages", "steps")
COMMON_FIELDS = ("id", "kind", "note")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "say": ("text", "next"),
    "ask": ("text", "choices", "save_as", "multiple", "sets_language", "more", "done", "next"),
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
CHOICE_FIELDS = ("value", "label", "next", "urgent")
COMMAND_FIELDS = ("words", "text", "action", "language", "note")
STEP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
VAR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
LANG_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def bundled_path(name: str = "intake") -> Path:
    """The path of a flow shipped inside the package (flows/scripts/<name>.yaml)."""
    path = Path(str(resources.files("flows") / "scripts" / f"{name}.yaml"))
    if not path.is_file():
        from .errors import FlowError

        raise FlowError(f"no bundled flow named {name!r}")
    return path


def load_bundled(name: str = "intake") -> Flow:
    return load_flow(bundled_path(name))


def load_flow(path: str | Path) -> Flow:
    """Load and validate a flow file; raises OSError if unreadable, FlowValidationError if wrong."""
    path = Path(path)
    data = path.read_bytes()
    return parse_bytes(data, source=str(path))


def load_flows(paths: list[Path]) -> tuple[list[tuple[Flow, str]], list[Problem]]:
    """The valid flows among `paths`, each with its source text, and every problem (errors of the
    invalid files, warnings of the valid ones). Hosts publish the first and log the second."""
    flows: list[tuple[Flow, str]] = []
    problems: list[Problem] = []
    for path in paths:
        data = Path(path).read_bytes()
        try:
            flow = parse_bytes(data, source=str(path))
        except FlowValidationError as exc:
            problems += exc.problems
            continue
        problems += flow.warnings
        flows.append((flow, data.decode("utf-8")))
    return flows, problems


def parse_flow(text: str, *, source: str) -> Flow:
    return parse_bytes(text.encode("utf-8"), source=source)


def parse_bytes(data: bytes, *, source: str) -> Flow:
    """Parse raw file bytes; the version is the hash of exactly these bytes."""
    flow, problems = analyse(data, source=source)
    if flow is None or any(p.severity == "error" for p in problems):
        raise FlowValidationError(problems)
    return flow


_CACHE: dict[tuple[str, str], tuple[Flow | None, tuple[Problem, ...]]] = {}
_CACHE_SIZE = 64


def analyse(data: bytes, *, source: str) -> tuple[Flow | None, list[Problem]]:
    """Every problem in a file, and the flow if it could be built (even with errors).

    Results are remembered by content hash: YAML parsing with positions is slow (a few hundred ms
    for the intake), flows are immutable values, and the same bytes always give the same answer.
    """
    key = (source, hashlib.sha256(data).hexdigest())
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        flow, problems = _analyse(data, source=source)
        _CACHE[key] = (flow, tuple(problems))
    flow, problems = _CACHE[key]
    return flow, list(problems)


def _analyse(data: bytes, *, source: str) -> tuple[Flow | None, list[Problem]]:
    report = _Report(source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.error(Pos(1, 1), None, f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8")
        return None, report.sorted()
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        what = " ".join(str(exc.problem or exc).split())
        report.error(pos, None, f"this is not valid YAML: {what} (check indentation and quotes)")
        return None, report.sorted()
    if not isinstance(root, CommentedMap):
        report.error(Pos(1, 1), None, "a flow file must start with fields such as 'version:', 'id:' and 'steps:'")
        return None, report.sorted()
    flow = _Builder(report, root, version=hashlib.sha256(data).hexdigest()[:16], source=source).build()
    if flow is not None:
        checks.run(flow, report)
        flow = dataclasses.replace(flow, warnings=tuple(p for p in report.sorted() if p.severity == "warning"))
    return flow, report.sorted()


class _Report:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.broken_ids: set[str] = set()  # steps too broken to build; links to them are not re-reported

    def error(self, pos: Pos, step: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, pos.line, pos.column, step, message, "error"))

    def warning(self, pos: Pos, step: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, pos.line, pos.column, step, message, "warning"))

    def sorted(self) -> list[Problem]:
        seen: set[Problem] = set()
        unique = [p for p in self.problems if not (p in seen or seen.add(p))]
        return sorted(unique, key=lambda p: (p.line, p.column))

    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def key_pos(node: CommentedMap, key: str) -> Pos:
    try:
        line, col = node.lc.key(key)
        return Pos(line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        return node_pos(node)


def value_pos(node: CommentedMap, key: str) -> Pos:
    try:
        line, col = node.lc.value(key)
        return Pos(line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        return key_pos(node, key)


def item_pos(node: CommentedSeq, index: int) -> Pos:
    try:
        line, col = node.lc.item(index)
        return Pos(line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        return node_pos(node)


def node_pos(node: Any) -> Pos:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return Pos(lc.line + 1, lc.col + 1)
    return Pos(1, 1)


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _reformatted_number(value: Any) -> bool:
    """True for numbers YAML reads differently from how they look (01 -> 1, 13_15 -> 1315, 0o17)."""
    return isinstance(value, int) and not isinstance(value, bool) and type(value) is not int


def _plain(value: Any) -> Any:
    """ruamel's round-trip scalars and containers as plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def parse_duration(value: str) -> timedelta | None:
    match = DURATION.match(value.strip()) if value.strip() else None
    if not match:
        return None
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


class _Builder:
    def __init__(self, report: _Report, root: CommentedMap, *, version: str, source: str) -> None:
        self.r = report
        self.root = root
        self.version = version
        self.source = source
        self.languages: tuple[str, ...] = ("ja",)

    # -- top level -------------------------------------------------------------------------
    def build(self) -> Flow | None:
        root, r = self.root, self.r
        for key in root:
            if key not in TOP_FIELDS:
                r.error(key_pos(root, key), None, f"unknown field '{key}'{_did_you_mean(str(key), TOP_FIELDS)}; "
                        f"a flow file may have: {', '.join(TOP_FIELDS)}")
        schema = root.get("version")
        if "version" not in root:
            r.error(Pos(1, 1), None, "missing 'version:' (the flow language version); add 'version: 1' at the top")
            schema = 1
        elif isinstance(schema, bool) or not isinstance(schema, int) or schema not in SCHEMA_VERSIONS:
            r.error(value_pos(root, "version"), None,
                    f"'version: {schema}' is not a flow language version this program knows; use "
                    + " or ".join(str(v) for v in SCHEMA_VERSIONS))
            return None
        root = self._migrate(root, schema)

        flow_id = root.get("id")
        if not isinstance(flow_id, str) or not STEP_ID.match(flow_id):
            pos = value_pos(root, "id") if "id" in root else Pos(1, 1)
            r.error(pos, None, "the flow needs an 'id:' made of letters, digits and _ (for example 'id: intake')")
            flow_id = "flow"

        self.languages = self._languages()
        reminder_after, expire_after = self._timeouts()
        messages = self._messages()
        commands = self._commands()
        title = self._text(root, "title", None, what="title") if "title" in root else None
        steps = self._steps()
        if steps is None:
            return None
        return Flow(
            id=flow_id,
            version=self.version,
            schema_version=schema,
            languages=self.languages,
            steps=tuple(steps),
            commands=tuple(commands),
            reminder_after=reminder_after,
            expire_after=expire_after,
            messages=tuple(messages.items()),
            source=self.source,
            title=title,
        )

    def _migrate(self, root: CommentedMap, schema: int) -> CommentedMap:
        """Bring an older file up to the current language on read (none yet: version 1 is the first)."""
        return root

    def _languages(self) -> tuple[str, ...]:
        root, r = self.root, self.r
        value = root.get("languages")
        if value is None:
            r.error(Pos(1, 1) if "languages" not in root else value_pos(root, "languages"), None,
                    "missing 'languages:'; list the languages the texts are written in, default first, e.g. [ja, en]")
            return ("ja",)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            r.error(value_pos(root, "languages"), None, "'languages:' must be a list such as [ja, en]")
            return ("ja",)
        out: list[str] = []
        for i, lang in enumerate(value):
            pos = item_pos(value, i) if isinstance(value, CommentedSeq) else value_pos(root, "languages")
            if not isinstance(lang, str) or not LANG_CODE.match(lang):
                r.error(pos, None, f"'{lang}' is not a language code; use codes such as ja or en")
            elif lang in out:
                r.error(pos, None, f"the language '{lang}' is listed twice")
            else:
                out.append(lang)
        return tuple(out) or ("ja",)

    def _timeouts(self) -> tuple[timedelta, timedelta]:
        root, r = self.root, self.r
        node = root.get("timeouts")
        reminder, expire = DEFAULT_REMINDER, DEFAULT_EXPIRE
        if node is None:
            return reminder, expire
        if not isinstance(node, CommentedMap):
            r.error(value_pos(root, "timeouts"), None, "'timeouts:' must hold 'reminder_after:' and 'expire_after:'")
            return reminder, expire
        values = {"reminder_after": reminder, "expire_after": expire}
        for key in node:
            if key not in values:
                r.error(key_pos(node, key), None, f"unknown field '{key}' in timeouts"
                        f"{_did_you_mean(str(key), tuple(values))}; use reminder_after and expire_after")
                continue
            raw = node[key]
            parsed = parse_duration(raw) if isinstance(raw, str) else None
            if parsed is None or parsed <= timedelta(0):
                r.error(value_pos(node, key), None,
                        f"'{key}: {raw}' is not a length of time; write it like 30m, 2h, 1d or 1h30m")
            else:
                values[key] = parsed
        if values["expire_after"] <= values["reminder_after"]:
            r.error(node_pos(node), None, "expire_after must be longer than reminder_after "
                    "(the reminder comes first, then the conversation closes)")
        return values["reminder_after"], values["expire_after"]

    def _messages(self) -> dict[str, Text]:
        root, r = self.root, self.r
        merged: dict[str, Text] = {}
        node = root.get("messages")
        overrides: dict[str, Text] = {}
        if node is not None and not isinstance(node, CommentedMap):
            r.error(value_pos(root, "messages"), None, "'messages:' must map message names to texts")
        elif node is not None:
            for key in node:
                if key not in BUILTIN:
                    r.error(key_pos(node, key), None, f"unknown message '{key}'"
                            f"{_did_you_mean(str(key), tuple(BUILTIN))}; the engine's messages are: "
                            + ", ".join(BUILTIN))
                    continue
                text = self._text(node, key, None, what=f"message '{key}'",
                                  max_len=MAX_LABEL if key in LABELS else MAX_TEXT)
                if text is not None:
                    overrides[str(key)] = text
        for name, builtin in BUILTIN.items():
            text = overrides.get(name)
            if text is None:
                have = dict(builtin.by_lang)
                missing = [lang for lang in self.languages if lang not in have]
                if missing:
                    r.error(Pos(1, 1) if "languages" not in root else value_pos(root, "languages"), None,
                            f"the engine has no built-in '{name}' message in {', '.join(missing)}; "
                            f"add it under 'messages:' as '{name}:' with a text for each language")
                text = Text(tuple((lang, builtin.get(lang, self.languages[0])) for lang in self.languages))
            merged[name] = text
        return merged

    def _commands(self) -> list[Command]:
        root, r = self.root, self.r
        node = root.get("commands")
        if node is None:
            return []
        if not isinstance(node, CommentedMap):
            r.error(value_pos(root, "commands"), None,
                    "'commands:' must map command names (stop, restart) to their words")
            return []
        out: list[Command] = []
        for name in node:
            body = node[name]
            pos = key_pos(node, name)
            if isinstance(body, CommentedSeq):  # short form: stop: [やめる, stop]
                body = CommentedMap({"words": body})
                body._yaml_set_line_col(pos.line - 1, pos.column - 1)
            if not isinstance(body, CommentedMap):
                r.error(pos, None, f"command '{name}' needs 'words:' (the words a person types)")
                continue
            for key in body:
                if key not in COMMAND_FIELDS:
                    r.error(key_pos(body, key), None, f"unknown field '{key}' in command '{name}'"
                            f"{_did_you_mean(str(key), COMMAND_FIELDS)}")
            action = body.get("action", name)
            if action not in COMMAND_ACTIONS:
                r.error(value_pos(body, "action") if "action" in body else pos, None,
                        f"command '{name}' does nothing known; give it 'action:' stop, restart or language")
                continue
            words_node = body.get("words")
            words: list[str] = []
            if not isinstance(words_node, list) or not words_node:
                r.error(value_pos(body, "words") if "words" in body else pos, None,
                        f"command '{name}' needs 'words:', a list such as [やめる, stop]")
            else:
                for i, word in enumerate(words_node):
                    if not isinstance(word, (str, int)) or isinstance(word, bool) or not str(word).strip():
                        r.error(item_pos(words_node, i), None, f"command '{name}' has an empty or odd word")
                    else:
                        words.append(str(word))
            language = body.get("language")
            if action == "language" and language not in self.languages:
                r.error(value_pos(body, "language") if "language" in body else pos, None,
                        f"command '{name}' switches language, so it needs 'language:' set to one of "
                        + ", ".join(self.languages))
            text = self._text(body, "text", None, what=f"command '{name}' text") if "text" in body else None
            out.append(Command(name=str(name), action=action, words=tuple(words), text=text,
                               language=language if action == "language" else None, pos=pos))
        return out

    # -- texts -----------------------------------------------------------------------------
    def _text(self, parent: CommentedMap, key: str, step: str | None, *, what: str,
              max_len: int = MAX_TEXT) -> Text | None:
        r = self.r
        node = parent.get(key)
        pos = value_pos(parent, key)
        if isinstance(node, (str, int, float)) and not isinstance(node, bool):
            if len(self.languages) > 1:
                r.error(pos, step, f"the {what} is written once but this flow has the languages "
                        f"{', '.join(self.languages)}; write it as '{self.languages[0]}: …' and "
                        f"'{self.languages[1]}: …' on separate lines under '{key}:'")
            return self._check_texts(Text(((self.languages[0], str(node)),), pos), {self.languages[0]: pos},
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
        return self._check_texts(Text(tuple(pairs), pos), where, step, what, max_len)

    def _check_texts(self, text: Text, where: dict[str, Pos], step: str | None, what: str, max_len: int) -> Text:
        for lang, value in text.by_lang:
            if len(value) > max_len:
                if max_len == MAX_LABEL:
                    self.r.error(where[lang], step, f"the {lang} {what} '{value}' is {len(value)} characters; "
                                 f"LINE shows at most {MAX_LABEL} on a button, so shorten it")
                else:
                    self.r.error(where[lang], step, f"the {lang} {what} is {len(value)} characters; "
                                 f"LINE accepts at most {MAX_TEXT} in one message, so shorten or split it")
        return text

    # -- steps -----------------------------------------------------------------------------
    def _steps(self) -> list[Step] | None:
        root, r = self.root, self.r
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
                    self.r.broken_ids.add(item["id"])
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
                        f"{_did_you_mean(str(kind), STEP_KINDS)}; use one of: " + ", ".join(STEP_KINDS))
            return None
        allowed = COMMON_FIELDS + KIND_FIELDS[kind]
        for key in node:
            if key not in allowed:
                hint = _did_you_mean(str(key), allowed)
                if not hint and key == "next" and kind == "branch":
                    hint = " (a branch uses 'otherwise:' for where to go when no case matches)"
                r.error(key_pos(node, key), step_id, f"unknown field '{key}' for {_a(kind)} step{hint}; "
                        f"{_a(kind)} step may have: " + ", ".join(KIND_FIELDS[kind]))
        for key in REQUIRED_FIELDS[kind]:
            if key not in node:
                r.error(key_pos(node, "kind"), step_id, f"{_a(kind)} step needs '{key}:'")
        nxt, nxt_pos = self._target(node, "otherwise" if kind == "branch" else "next", step_id)
        base = dict(id=step_id, kind=kind, pos=pos, next=nxt, next_pos=nxt_pos)
        text = self._text(node, "text", step_id, what="text") if "text" in node else None
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

    def _ask(self, node: CommentedMap, base: dict, text: Text | None) -> Ask:
        r, step_id = self.r, base["id"]
        multiple = self._flag(node, "multiple", step_id)
        sets_language = self._flag(node, "sets_language", step_id)
        more = self._text(node, "more", step_id, what="'more' label", max_len=MAX_LABEL) if "more" in node else None
        done = self._text(node, "done", step_id, what="'done' label", max_len=MAX_LABEL) if "done" in node else None
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
                            f"{_did_you_mean(str(key), CHOICE_FIELDS)}; a choice may have: " + ", ".join(CHOICE_FIELDS))
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
            if _reformatted_number(value):
                r.error(value_pos(item, "value"), step_id, f"this value is read as the number {int(value)}, not as "
                        "written; put it in quotes (for example \"01\" or \"13_15\") to keep it as text")
                continue
            value = _plain(value)
            label = self._text(item, "label", step_id, what="label", max_len=MAX_LABEL) if "label" in item else None
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
                value=value, label=label, next=nxt, urgent=urgent, pos=item_pos(seq, i), next_pos=nxt_pos
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
                   multiple=multiple, sets_language=sets_language, more=more, done=done)

    def _ask_text(self, node: CommentedMap, base: dict, text: Text | None) -> AskText:
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
        invalid = self._text(node, "invalid", step_id, what="'invalid' text") if "invalid" in node else None
        skip = self._text(node, "skip", step_id, what="'skip' label", max_len=MAX_LABEL) if "skip" in node else None
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
                conditions.append((var, tuple(_plain(value)) if isinstance(value, list) else _plain(value)))
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
            out.append((var, _plain(values[var])))
        return tuple(out)

    # -- linking ---------------------------------------------------------------------------
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
