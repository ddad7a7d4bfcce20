"""Texts the engine itself says (re-prompts, reminders, goodbyes), in Japanese and English.

A flow may override any of them under `messages:`; a flow in another language must, and the
validator says so. Placeholders ({picked}, {done}, {max}) are filled by plain replacement.
"""

from __future__ import annotations

from .model import Text

BUILTIN: dict[str, Text] = {
    "not_understood": Text.of(
        ja="すみません、うまく受け取れませんでした。番号か、次の中から選んでください。",
        en="Sorry, I didn't catch that. Please reply with a number or one of these:",
    ),
    "not_understood_words": Text.of(
        ja="すみません、うまく受け取れませんでした。次の中から選んでください。",
        en="Sorry, I didn't catch that. Please reply with one of these:",
    ),
    "which_one": Text.of(
        ja="どれのことですか？あてはまるものを選んでください。",
        en="Which of these do you mean?",
    ),
    "media": Text.of(
        ja="スタンプや画像は受け取れません。文字かボタンで答えてください。",
        en="Sorry, I can't receive stickers, images or files. Please answer with text or the buttons.",
    ),
    "picked": Text.of(
        ja="選んだもの：{picked}\nほかにもあれば選んでください。終わったら「{done}」を押してください。",
        en='Chosen so far: {picked}\nChoose more if you like, then tap "{done}".',
    ),
    "pick_one": Text.of(
        ja="ひとつ以上選んでください。",
        en="Please choose at least one.",
    ),
    "empty_text": Text.of(
        ja="文字で書いて送ってください。",
        en="Please write your answer as text.",
    ),
    "too_long": Text.of(
        ja="{max}文字までで書いてください。",
        en="Please keep it within {max} characters.",
    ),
    "invalid_text": Text.of(
        ja="書き方が違うようです。もう一度お願いします。",
        en="That doesn't look quite right. Please try again.",
    ),
    "stopped": Text.of(
        ja="ここで終わりにします。話したくなったら、いつでもまたメッセージを送ってください。",
        en="We'll stop here. Whenever you want to talk, just send a message again.",
    ),
    "restarted": Text.of(
        ja="はじめからやり直します。",
        en="Let's start again from the beginning.",
    ),
    "reminder": Text.of(
        ja="まだそこにいますか？お返事はいつでも大丈夫です。",
        en="Are you still there? Reply whenever you are ready.",
    ),
    "goodbye": Text.of(
        ja="しばらくお返事がなかったので、いったん終わりにします。また話したくなったら、いつでもメッセージを送ってください。",
        en="We haven't heard from you for a while, so we'll close this for now. Send a message any time you want to talk again.",
    ),
    "done": Text.of(ja="これで全部", en="That's all"),
    "more": Text.of(ja="ほかの選択肢", en="More choices"),
    "list_separator": Text.of(ja="、", en=", "),
}

# Other words for the 'done' button of a question with several answers (compared after the same
# tidy-up as any answer): "that is all" in the words people type.
DONE_WORDS = ("以上", "以上です", "それだけ", "それだけです", "これだけ", "これだけです", "おわり", "終わり",
              "ほかにない", "他にない", "もうない", "ない", "ありません", "done", "that's it", "that is all",
              "nothing else", "that's all")

# Names whose texts become quick-reply labels, so the 20-character limit applies to them.
LABELS = ("done", "more")
