"""Small flows for tests, written out in full so that line numbers in assertions are plain to see."""

from __future__ import annotations

from datetime import UTC, datetime

from flows import Flow, parse_flow

T0 = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)

MINI = """\
version: 1
id: mini
languages: [ja, en]
timeouts:
  reminder_after: 10m
  expire_after: 1h
commands:
  stop:
    words: [やめる, stop]
  restart:
    words: [はじめから, restart]
steps:
  - id: hello
    kind: say
    text: {ja: こんにちは, en: Hello}
  - id: color
    kind: ask
    save_as: color
    text: {ja: 色は？, en: Color?}
    choices:
      - {value: red, label: {ja: 赤, en: Red}}
      - {value: blue, label: {ja: 青, en: Blue}}
      - {value: none, label: {ja: なし, en: None}, urgent: true}
  - id: check
    kind: branch
    cases:
      - when: {color: red}
        next: bye
    otherwise: name
  - id: name
    kind: ask_text
    save_as: name
    max_length: 5
    pattern: "[a-z]+"
    skip: {ja: とばす, en: Skip}
    text: {ja: 名前は？, en: Name?}
  - id: mark
    kind: set
    values: {done: true}
  - id: connect
    kind: handoff
    text: {ja: つなぎます, en: Connecting}
  - id: bye
    kind: end
    text: {ja: さようなら, en: Bye}
"""


def mini(text: str = MINI) -> Flow:
    return parse_flow(text, source="mini.yaml")
