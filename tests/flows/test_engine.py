"""The pure engine: answers, commands, media, multi-select, language, urgency, timeouts, purity."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from flows import FlowError, load_bundled
from flows.engine import Choice, Handoff, Input, Message, Turn, resume, start, tick
from flows.errors import SessionClosed, SessionMismatch
from flows.session import Pending, Session

from .helpers import MINI, T0, mini

MIN = timedelta(minutes=1)


def say(flow, turn: Turn, text: str, at: datetime = T0 + MIN) -> Turn:
    return resume(flow, turn.session, Input(text=text), now=at)


def test_start_says_hello_and_asks() -> None:
    flow = mini()
    turn = start(flow, now=T0)
    assert turn.messages == (
        Message("こんにちは"),
        Message("色は？", (Choice("赤", "red"), Choice("青", "blue"), Choice("なし", "none"))),
    )
    s = turn.session
    assert (s.flow_id, s.version, s.step, s.status, s.language) == ("mini", flow.version, "color", "active", "ja")
    assert s.answers == {} and turn.effects == ()
    assert s.started_at == s.last_activity == T0 and s.pending == Pending()


def test_start_in_english_and_unknown_language_falls_back() -> None:
    flow = mini()
    assert start(flow, now=T0, language="en").messages[0].text == "Hello"
    assert start(flow, now=T0, language="fr").session.language == "ja"


@pytest.mark.parametrize("answer", ["2", "２", " ２ ", "青", "blue", "BLUE", "Ｂｌｕｅ", "2番"])
def test_choice_by_number_full_width_digit_label_or_value(answer: str) -> None:
    flow = mini()
    turn = say(flow, start(flow, now=T0), answer)
    assert turn.session.answers == {"color": "blue"}
    assert turn.session.step == "name"


def test_unmatched_answer_repeats_the_choices_numbered() -> None:
    flow = mini()
    first = start(flow, now=T0)
    turn = say(flow, first, "緑")
    [message] = turn.messages
    assert message.text.splitlines()[1:] == ["1. 赤", "2. 青", "3. なし"]
    assert message.choices == first.messages[-1].choices
    assert turn.session.step == "color" and turn.session.answers == {}
    assert say(flow, first, "4").session.step == "color"  # out of range


def test_media_gets_a_gentle_reprompt_and_the_question_again() -> None:
    flow = mini()
    first = start(flow, now=T0)
    turn = resume(flow, first.session, Input(media="sticker"), now=T0 + MIN)
    assert turn.messages[0].text.startswith("スタンプや画像は受け取れません。")
    assert turn.messages[1] == first.messages[-1]
    en = resume(flow, start(flow, now=T0, language="en").session, Input(media="image"), now=T0 + MIN)
    assert en.messages[0].text.startswith("Sorry, I can't receive stickers")


def test_unknown_media_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        Input(media="hologram")


def test_branch_and_end() -> None:
    flow = mini()
    turn = say(flow, start(flow, now=T0), "赤")
    assert turn.messages == (Message("さようなら"),)
    assert turn.effects == ()
    assert (turn.session.status, turn.session.end_reason, turn.wake_at) == ("ended", "completed", None)


def test_text_question_checks_then_set_and_handoff() -> None:
    flow = mini()
    turn = say(flow, start(flow, now=T0, language="en"), "Blue")
    assert turn.messages[-1] == Message("Name?", (Choice("Skip", "__skip__"),))
    too_long = say(flow, turn, "abcdef")
    assert too_long.messages[0].text == "Please keep it within 5 characters."
    wrong = say(flow, turn, "ab1")
    assert wrong.messages[0].text == "That doesn't look quite right. Please try again."
    empty = say(flow, turn, "   ")
    assert empty.messages[0].text == "Please write your answer as text."
    done = say(flow, turn, "ｂｏｂ")
    assert done.messages == (Message("Connecting"),)
    [handoff] = done.effects
    assert handoff == Handoff(answers={"color": "blue", "name": "ｂｏｂ", "done": True}, urgent=False, language="en")
    assert done.session.status == "handoff"
    skipped = say(flow, turn, "skip")
    assert skipped.effects[0].answers["name"] is None


def test_urgent_choice_marks_the_answers_at_once_and_the_handoff() -> None:
    flow = mini()
    turn = say(flow, start(flow, now=T0), "3")
    assert turn.effects == ()
    assert turn.session.answers["urgent"] is True
    done = say(flow, turn, "bob")
    assert done.effects[0].urgent is True


def test_stop_command_after_nfkc_and_case_folding() -> None:
    flow = mini()
    for word in ("やめる", "STOP", "ｓｔｏｐ", " stop "):
        turn = say(flow, start(flow, now=T0), word)
        assert turn.effects == ()
        assert (turn.session.status, turn.session.end_reason) == ("ended", "stopped")
        assert turn.messages[0].text.startswith("ここで終わりにします")


def test_restart_clears_answers_and_starts_over() -> None:
    flow = mini()
    turn = say(flow, start(flow, now=T0), "青")
    again = say(flow, turn, "はじめから")
    assert [m.text for m in again.messages] == ["はじめからやり直します。", "こんにちは", "色は？"]
    assert again.session.answers == {} and again.session.step == "color"


def test_restart_keeps_urgent() -> None:
    flow = mini()
    turn = say(flow, start(flow, now=T0), "なし")
    again = say(flow, turn, "restart")
    assert again.session.answers == {"urgent": True}


def test_resume_on_a_closed_session_raises() -> None:
    flow = mini()
    ended = say(flow, start(flow, now=T0), "赤")
    with pytest.raises(SessionClosed):
        say(flow, ended, "hello")
    assert issubclass(SessionClosed, FlowError)


def test_session_pinned_to_its_version() -> None:
    flow = mini()
    edited = mini(MINI.replace("en: Hello", "en: Hi there"))
    assert edited.version != flow.version
    turn = start(flow, now=T0)
    with pytest.raises(SessionMismatch):
        say(edited, turn, "1")
    assert say(flow, turn, "1").session.version == flow.version


def test_engine_does_not_mutate_the_session_it_is_given() -> None:
    flow = load_bundled()
    turn = say(flow, start(flow, now=T0), "はい")
    before = turn.session.to_json()
    picked = say(flow, turn, "2")  # a multiple choice: pending and answers both change
    assert picked.session.pending != turn.session.pending
    tick(flow, turn.session, now=T0 + timedelta(hours=5))
    say(flow, turn, "やめる")
    assert turn.session.to_json() == before
    with pytest.raises(TypeError):
        turn.session.answers["agreed"] = False  # the point: answers are read-only


def test_now_must_be_timezone_aware() -> None:
    flow = mini()
    with pytest.raises(ValueError):
        start(flow, now=datetime(2026, 1, 1))
    turn = start(flow, now=T0)
    with pytest.raises(ValueError):
        resume(flow, turn.session, Input(text="1"), now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        tick(flow, turn.session, now=datetime(2026, 1, 1))


# -- timeouts via tick ---------------------------------------------------------------------------

def test_tick_before_reminder_changes_nothing() -> None:
    flow = mini()
    turn = start(flow, now=T0)
    assert turn.wake_at == T0 + timedelta(minutes=10)
    quiet = tick(flow, turn.session, now=T0 + timedelta(minutes=9, seconds=59))
    assert quiet.messages == () and quiet.effects == () and quiet.session == turn.session


def test_reminder_once_then_expiry_with_goodbye() -> None:
    flow = mini()
    turn = start(flow, now=T0)
    reminded = tick(flow, turn.session, now=T0 + timedelta(minutes=10))
    [message] = reminded.messages
    assert message.text == "まだそこにいますか？お返事はいつでも大丈夫です。"
    assert message.choices == turn.messages[-1].choices  # the buttons come back with it
    assert reminded.wake_at == T0 + timedelta(hours=1)
    again = tick(flow, reminded.session, now=T0 + timedelta(minutes=30))
    assert again.messages == ()  # only one reminder
    gone = tick(flow, again.session, now=T0 + timedelta(hours=1))
    assert gone.effects == () and gone.session.end_reason == "expired"
    assert gone.messages[0].text.startswith("しばらくお返事がなかったので")
    assert gone.session.status == "ended" and gone.wake_at is None
    assert tick(flow, gone.session, now=T0 + timedelta(hours=9)).messages == ()


def test_activity_resets_the_timers() -> None:
    flow = mini()
    turn = start(flow, now=T0)
    reminded = tick(flow, turn.session, now=T0 + timedelta(minutes=10))
    answered = resume(flow, reminded.session, Input(text="2"), now=T0 + timedelta(minutes=50))
    assert answered.wake_at == T0 + timedelta(minutes=60)
    assert tick(flow, answered.session, now=T0 + timedelta(minutes=65)).effects == ()
    assert tick(flow, answered.session, now=T0 + timedelta(minutes=60)).messages[0].text.startswith("まだ")


def test_late_tick_expires_without_a_reminder_first() -> None:
    flow = mini()
    gone = tick(flow, start(flow, now=T0).session, now=T0 + timedelta(days=1))
    assert gone.session.end_reason == "expired" and len(gone.messages) == 1


# -- the bundled intake ------------------------------------------------------------------------

def test_intake_multi_select_paging_and_first_chosen_first() -> None:
    flow = load_bundled()
    turn = say(flow, start(flow, now=T0), "はい")
    assert turn.session.step == "topics"
    for answer in ("生活・お金・借金", "13", "1", "1"):  # money, "more", then two from page two
        turn = say(flow, turn, answer)
    labels = [c.label for c in turn.messages[-1].choices]
    assert "これで全部" in labels
    turn = say(flow, turn, "これで全部")
    topics = turn.session.answers["topics"]
    assert isinstance(topics, tuple)
    assert topics[0] == "money" and len(topics) == 3 and len(set(topics)) == 3


def test_intake_done_without_a_pick_asks_for_one() -> None:
    flow = load_bundled()
    turn = say(flow, say(flow, start(flow, now=T0), "はい"), "That's all")
    assert turn.messages[0].text.startswith("ひとつ以上選んでください。")
    assert turn.session.step == "topics"


def test_intake_language_answer_switches_the_session_language() -> None:
    flow = load_bundled()
    turn = start(flow, now=T0)
    for answer in ("はい", "1", "これで全部", "4", "8", "いいえ", "English"):
        turn = say(flow, turn, answer)
    assert turn.session.language == "en"
    assert turn.session.answers["language"] == "en"
    assert turn.messages[-1].text.startswith("Would you rather")


def test_intake_english_command_switches_language_and_repeats_the_question() -> None:
    flow = load_bundled()
    turn = say(flow, start(flow, now=T0), "ｅｎｇｌｉｓｈ")
    assert turn.session.language == "en"
    assert turn.messages[-1].choices == (Choice("Yes", "true"), Choice("No", "false"))


def test_intake_every_message_fits_line_limits_whatever_is_typed() -> None:
    flow = load_bundled()
    inputs = ["1", "2", "12", "13", "はい", "x", "9", "3", "4", "5", "2", "1", "7", "1", "2", "1", "1", "1"]
    for shift in range(len(inputs)):
        turn = start(flow, now=T0)
        seen = [turn]
        for answer in inputs[shift:] + inputs[:shift]:
            if turn.session.status != "active":
                break
            turn = say(flow, turn, answer)
            seen.append(turn)
        for t in seen:
            assert len(t.messages) <= 5
            for message in t.messages:
                assert len(message.choices) <= 13 and len(message.text) <= 5000
                assert all(len(c.label) <= 20 for c in message.choices)


POOL = ["1", "２", "3", "12", "13", "99", "はい", "いいえ", "Yes", "これで全部", "That's all", "ほかのテーマ",
        "関東", "東京都", "English", "日本語", "はじめから", "ｒｅｓｔａｒｔ", "", "  ", "😀", "??", "null"]


def test_intake_never_breaks_line_limits_or_json_on_random_input() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    flow = load_bundled()
    first = start(flow, now=T0)
    inputs = st.one_of(st.sampled_from(POOL).map(lambda t: Input(text=t)),
                       st.sampled_from(["sticker", "image", "location"]).map(lambda m: Input(media=m)),
                       st.text(max_size=30).map(lambda t: Input(text=t)))

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.lists(inputs, max_size=25))
    def run(steps: list[Input]) -> None:
        turn = first
        for i, inp in enumerate(steps):
            if turn.session.status != "active":
                with pytest.raises(SessionClosed):
                    resume(flow, turn.session, inp, now=T0 + MIN * (i + 1))
                break
            turn = resume(flow, turn.session, inp, now=T0 + MIN * (i + 1))
            assert 1 <= len(turn.messages) <= 5
            for message in turn.messages:
                assert len(message.choices) <= 13 and all(len(c.label) <= 20 for c in message.choices)
                assert 0 < len(message.text) <= 5000
            stored = json.loads(json.dumps(turn.session.to_json()))
            assert Session.from_json(stored) == turn.session
            if turn.session.status == "active":
                assert turn.messages[-1].choices or turn.session.step != "topics"

    run()
