"""Build a `Flow` from a flow file's YAML: the top-level fields here, the steps in `build_steps`.

Flows are versioned data that are validated and migrated on read (goflow's way): 'version:' names
the flow language version, and a file in an older one would be brought up to date in `_migrate`
before anything else reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .build_steps import STEP_ID, StepsBuilder
from .build_text import MAX_LABEL, MAX_TEXT, TextReader
from .model import COMMAND_ACTIONS, Command, Flow, Pos, Text
from .report import Report, did_you_mean
from .texts import BUILTIN, LABELS
from .yamlnodes import item_pos, key_pos, node_pos, value_pos

SCHEMA_VERSIONS = (1,)
DEFAULT_REMINDER = timedelta(minutes=30)
DEFAULT_EXPIRE = timedelta(hours=2)
TOP_FIELDS = ("version", "id", "title", "languages", "timeouts", "commands", "messages", "steps")
COMMAND_FIELDS = ("words", "text", "action", "language", "note")
LANG_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@dataclass(frozen=True)
class Built:
    """The flow, if one could be built (even with errors), and the ids of the steps too broken to
    build, so that the checks do not report the links to them a second time."""

    flow: Flow | None
    broken_ids: frozenset[str]


def build(root: CommentedMap, report: Report, *, version: str, source: str) -> Built:
    """Build the flow from a parsed file, writing every problem found to `report`."""
    builder = _Builder(report, root, version=version, source=source)
    flow = builder.build()
    return Built(flow, builder.broken_ids)


def parse_duration(value: str) -> timedelta | None:
    """A length of time written like 30m, 2h, 1d or 1h30m; None if it is not one."""
    match = DURATION.match(value.strip()) if value.strip() else None
    if not match:
        return None
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


class _Builder:
    def __init__(self, report: Report, root: CommentedMap, *, version: str, source: str) -> None:
        self.r = report
        self.root = root
        self.version = version
        self.source = source
        self.languages: tuple[str, ...] = ("ja",)
        self.texts = TextReader(report, self.languages)
        self.broken_ids: frozenset[str] = frozenset()

    def build(self) -> Flow | None:
        root, r = self.root, self.r
        for key in root:
            if key not in TOP_FIELDS:
                r.error(key_pos(root, key), None, f"unknown field '{key}'{did_you_mean(str(key), TOP_FIELDS)}; "
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
        self.texts = TextReader(r, self.languages)
        reminder_after, expire_after = self._timeouts()
        messages = self._messages()
        commands = self._commands()
        title = self.texts.optional(root, "title", None, what="title")
        steps_builder = StepsBuilder(r, self.texts, self.languages)
        steps = steps_builder.build(root)
        self.broken_ids = frozenset(steps_builder.broken_ids)
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
                        f"{did_you_mean(str(key), tuple(values))}; use reminder_after and expire_after")
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
                            f"{did_you_mean(str(key), tuple(BUILTIN))}; the engine's messages are: "
                            + ", ".join(BUILTIN))
                    continue
                text = self.texts.read(node, key, None, what=f"message '{key}'",
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
                            f"{did_you_mean(str(key), COMMAND_FIELDS)}")
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
            text = self.texts.optional(body, "text", None, what=f"command '{name}' text")
            out.append(Command(name=str(name), action=action, words=tuple(words), text=text,
                               language=language if action == "language" else None, pos=pos))
        return out
