"""The few lines the service itself says to a person (the flows say the rest).

Japanese first; English where the person chose English.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "group_only_one_to_one": {
        "ja": "ここでは相談を受けられません。相談は1対1のトークでお願いします。",
        "en": "Consultations work only in a one-to-one chat with this account.",
    },
    "waiting": {
        "ja": "相談員につなぐ準備をしています。このままお待ちください。",
        "en": "We are connecting you with a counselor. Please wait a little.",
    },
    "not_handled": {
        "ja": "すみません、さきほどのメッセージをうまく受け取れませんでした。お手数ですが、もう一度送ってください。",
        "en": "Sorry, we could not take in your last message. Please send it again.",
    },
    # Erasure (bot/work/erase.py): always Japanese, then English.
    "erase_ask": {
        "ja": "あなたのデータを削除しますか？\n"
              "削除すると、ここでの会話、受付での回答、相談員とのやりとりと相談員のメモ、連絡先の記録がすべて消え、"
              "元に戻せません。相談中の場合は、相談も終了します。\n"
              "統計のために、あなたと結びつかない記録（団体、日付、テーマ、結果）だけが残ります。",
        "en": "Erase your data?\n"
              "This erases everything we keep about you: this conversation, your answers, your messages with "
              "counselors and their notes, and how to reach you. It cannot be undone, and a consultation in "
              "progress ends.\n"
              "Only an anonymous record that cannot be linked to you (organization, dates, topics, outcome) "
              "stays, for statistics.",
    },
    "erase_done": {
        "ja": "あなたのデータを削除しました。また話したくなったら、いつでもメッセージを送ってください。",
        "en": "Your data has been erased. Whenever you want to talk again, just send a message.",
    },
    "erase_kept": {
        "ja": "削除はしませんでした。このまま続けられます。",
        "en": "Nothing was erased. You can carry on.",
    },
    "ended": {
        "ja": "相談を終了しました。また話したくなったら、いつでもメッセージを送ってください。",
        "en": "The consultation has ended. Send a message any time you want to talk again.",
    },
}


def text(key: str, language: str | None = "ja") -> str:
    """The text in `language`; Japanese for None; "both" (or a language it lacks): Japanese, then English."""
    entry = TEXTS[key]
    if language and language != "ja" and language in entry:
        return entry[language]
    if language == "ja" or language is None:
        return entry["ja"]
    return f"{entry['ja']}\n{entry['en']}"
