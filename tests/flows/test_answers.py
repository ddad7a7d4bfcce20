"""Answers in one's own words: synonyms, patterns, amounts for ranges, width/kana/case, and an
answer that names several choices (asked about, never guessed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows import engine, parse_flow
from flows.engine import Input, Message
from flows.matching import amount, kanji_number, normalize

from .helpers import T0

FLOW = """\
version: 1
id: words
languages: [ja, en]
commands:
  stop: {words: [やめる, stop]}
  english: {action: language, language: en, words: [English, 英語]}
steps:
  - id: feel
    kind: ask
    multiple: true
    save_as: topics
    text: {ja: テーマは？, en: Topics?}
    choices:
      - {value: lonely, label: {ja: 孤独・孤立, en: Loneliness}, synonyms: [孤独, ひとりぼっち], patterns: [さびし, 寂し, 誰とも話せ]}
      - {value: family, label: {ja: 家族, en: Family}, patterns: [親が, 家族]}
      - {value: dying, label: {ja: 死にたい気持ち, en: Thoughts of dying}, patterns: [死にたい, 消えたい], urgent: true}
  - id: age
    kind: ask
    save_as: age
    text: {ja: 年代は？, en: Age?}
    invalid: {ja: 年齢を数字で書くか、選んでください。, en: Write your age or choose one.}
    choices:
      - {value: child, label: {ja: 12歳以下, en: 12 or under}, range: [0, 12]}
      - {value: teen, label: {ja: 13〜18歳, en: 13-18}, range: [13, 18]}
      - {value: twenties, label: {ja: 19〜29歳, en: 19-29}, synonyms: [はたち], range: [19, 29]}
      - {value: 30s, label: {ja: 30代, en: 30s}, range: [30, 39]}
      - {value: null, label: {ja: 答えたくない, en: Rather not say}}
  - id: place
    kind: ask
    save_as: place
    text: {ja: 都道府県は？, en: Prefecture?}
    choices:
      - {value: "13", label: {ja: 東京都, en: Tokyo}, synonyms: [東京, とうきょう]}
      - {value: "26", label: {ja: 京都府, en: Kyoto}, synonyms: [京都, きょうと]}
      - {value: "14", label: {ja: 神奈川県, en: Kanagawa}, patterns: [横浜, 川崎]}
      - {value: "11", label: {ja: 埼玉県, en: Saitama}, patterns: [川口, 川越]}
  - id: ok
    kind: ask
    save_as: ok
    text: {ja: よろしいですか？, en: All right?}
    choices:
      - {value: true, label: {ja: はい, en: "Yes"}, synonyms: [うん, ええ, ok, y]}
      - {value: false, label: {ja: いいえ, en: "No"}, synonyms: [ううん, いや, n]}
  - id: bye
    kind: end
    text: {ja: さようなら, en: Bye}
"""
MIN = timedelta(minutes=1)


@pytest.fixture(scope="module")
def flow():
    return parse_flow(FLOW, source="words.yaml")


def at(flow, step: str, answers: dict | None = None):
    turn = engine.start(flow, now=T0)
    session = turn.session
    from dataclasses import replace

    return replace(session, step=step, answers=answers or {})


def answer(flow, session, text: str):
    return engine.resume(flow, session, Input(text=text), now=T0 + MIN)


def test_normalisation_folds_width_kana_and_case() -> None:
    assert normalize("ﾄｳｷｮｳ") == normalize("トウキョウ") == normalize("とうきょう") == "とうきょう"
    assert normalize("ＹＥＳ") == normalize(" yes。") == "yes"


@pytest.mark.parametrize(("text", "expected"), [
    ("30", (30, 30)), ("35歳", (35, 35)), ("３５さい", (35, 35)), ("三十五歳", (35, 35)), ("30代", (30, 39)),
    ("三十代", (30, 39)), ("30s", (30, 39)), ("35歳です", (35, 35)), ("I am 35 years old", (35, 35)),
    ("二十", (20, 20)), ("百", (100, 100)), ("30代で子どもが2人", None), ("わからない", None), ("", None),
])
def test_amounts(text, expected) -> None:
    assert amount(text) == expected


def test_kanji_numbers() -> None:
    assert [kanji_number(t) for t in ("十", "十五", "二十", "九十九", "百二十", "〇", "十十", "二二")] == [
        10, 15, 20, 99, 120, 0, None, None]


@pytest.mark.parametrize(("text", "value"), [
    ("30", "30s"), ("35歳", "30s"), ("三十代", "30s"), ("30代", "30s"), ("5", "child"), ("12", "child"),
    ("20代", "twenties"), ("はたち", "twenties"), ("ハタチ", "twenties"), ("16さい", "teen"),
])
def test_numbers_are_amounts_where_the_choices_are_ranges(flow, text, value) -> None:
    turn = answer(flow, at(flow, "age"), text)
    assert turn.session.answers["age"] == value and turn.session.step == "place"


def test_a_decade_across_several_ranges_is_asked_about(flow) -> None:
    turn = answer(flow, at(flow, "age"), "10代")
    [message] = turn.messages
    assert message.text.splitlines() == ["どれのことですか？あてはまるものを選んでください。", "・12歳以下", "・13〜18歳",
                                         "・19〜29歳"]
    assert [c.value for c in message.choices] == ["child", "teen", "twenties"]
    assert turn.session.step == "age" and "age" not in turn.session.answers
    assert answer(flow, turn.session, "13〜18歳").session.answers["age"] == "teen"


def test_a_question_of_ranges_lists_its_choices_without_numbers(flow) -> None:
    turn = answer(flow, at(flow, "age"), "わからない")
    [message] = turn.messages
    assert message.text.splitlines()[:2] == ["年齢を数字で書くか、選んでください。", "・12歳以下"]
    assert len(message.choices) == 5


@pytest.mark.parametrize(("text", "value"), [
    ("東京", "13"), ("とうきょう", "13"), ("トウキョウ", "13"), ("東京都", "13"), ("tokyo", "13"), ("TOKYO", "13"),
    ("京都", "26"), ("横浜に住んでいます", "14"), ("川越", "11"), ("1", "13"), ("４", "11"),
])
def test_synonyms_patterns_and_button_numbers(flow, text, value) -> None:
    assert answer(flow, at(flow, "place"), text).session.answers["place"] == value


def test_a_synonym_is_a_whole_answer_not_a_part(flow) -> None:
    # 東京 is a synonym of 東京都, not a pattern: 「東京都」 is not mistaken for 京都 (a synonym of 京都府)
    assert answer(flow, at(flow, "place"), "東京都").session.answers["place"] == "13"
    turn = answer(flow, at(flow, "place"), "東京の近く")
    assert turn.session.step == "place" and turn.messages[0].text.startswith("すみません")


def test_words_that_name_two_choices_are_asked_about(flow) -> None:
    turn = answer(flow, at(flow, "place"), "川口と川崎")
    [message] = turn.messages
    assert message.text.startswith("どれのことですか？")
    assert [c.label for c in message.choices] == ["埼玉県", "神奈川県"]  # first named first
    assert "place" not in turn.session.answers


@pytest.mark.parametrize(("text", "value"), [("うん", True), ("ウン", True), ("OK", True), ("はい", True),
                                              ("yes", True), ("ううん", False), ("No", False), ("いいえ", False)])
def test_yes_and_no_in_ones_own_words(flow, text, value) -> None:
    assert answer(flow, at(flow, "ok"), text).session.answers["ok"] is value


def test_free_text_picks_every_topic_it_names_first_named_first(flow) -> None:
    turn = answer(flow, at(flow, "feel"), "親が厳しくて、さびしくて誰とも話せない")
    assert turn.session.pending.picked == ("family", "lonely")
    assert turn.messages[-1].text.startswith("選んだもの：家族、孤独・孤立")
    assert [c.label for c in turn.messages[-1].choices] == ["死にたい気持ち", "これで全部"]
    turn = answer(flow, turn.session, "死にたい")
    assert turn.session.answers.get("urgent") is True


def test_a_synonym_typed_alone_picks_that_topic(flow) -> None:
    turn = answer(flow, at(flow, "feel"), "孤独")
    assert turn.session.pending.picked == ("lonely",)


def test_a_pattern_never_outranks_a_language_command(flow) -> None:
    # 英語 is a language command; only an exact label, value or synonym would win over it
    turn = answer(flow, at(flow, "place"), "英語")
    assert turn.session.language == "en" and turn.session.step == "place"


def test_with_notice_keeps_the_question_and_its_buttons_last(flow) -> None:
    turn = answer(flow, at(flow, "feel"), "死にたい")
    lines = Message("いますぐ危ないときは 110 へ")
    noticed = engine.with_notice(turn, (lines,))
    assert noticed.messages[-2] == lines
    assert noticed.messages[-1] == turn.messages[-1] and noticed.messages[-1].choices
    assert engine.with_notice(turn, ()) is turn
    ended = answer(flow, at(flow, "ok"), "はい")
    assert ended.session.status == "ended"
    assert engine.with_notice(ended, (lines,)).messages[-1] == lines


def test_current_question_is_the_one_waiting(flow) -> None:
    session = at(flow, "ok")
    question = engine.current_question(flow, session)
    assert question is not None and question.text == "よろしいですか？" and len(question.choices) == 2
    assert engine.current_question(flow, answer(flow, session, "はい").session) is None
