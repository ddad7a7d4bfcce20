"""What the desk says to a person (in their language; Japanese first otherwise) and to counselors
(always Japanese first, then English)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from routing import Hotline

JST = ZoneInfo("Asia/Tokyo")

PERSON: dict[str, dict[str, str]] = {
    "queued": {
        "ja": "相談員につなぎます。いま{position}番目で、目安は約{minutes}分です。相談員が入ったらお知らせします。待っている間に書いたことも、相談員に届きます。",
        "en": "We are connecting you to a counselor. You are number {position} in the queue, about {minutes} minutes. We will tell you when a counselor joins. What you write while waiting reaches the counselor too.",
    },
    "position": {
        "ja": "順番が変わりました。いま{position}番目、目安は約{minutes}分です。",
        "en": "Your place in the queue has changed: number {position}, about {minutes} minutes.",
    },
    "holding": {
        "ja": "メッセージは相談員に届いています。いま{position}番目です。もう少しお待ちください。",
        "en": "Your message has reached the counselors. You are number {position}. Please wait a little longer.",
    },
    "joined": {
        "ja": "相談員の「{name}」さんが入りました。ここからは相談員とお話しできます。",
        "en": 'Counselor "{name}" has joined. You can talk with them from here.',
    },
    "released": {
        "ja": "相談員の都合で、もう一度順番をお待ちいただくことになりました。ごめんなさい。",
        "en": "Sorry, the counselor had to step away. You are back in the queue.",
    },
    "transferred": {
        "ja": "別の団体の相談員におつなぎします。少しお待ちください。",
        "en": "We are passing you to a counselor at another organization. Please wait a moment.",
    },
    "closed": {
        "ja": "相談を終了しました。話してくれてありがとう。また話したくなったら、いつでもメッセージを送ってください。",
        "en": "The consultation has ended. Thank you for talking with us. Send a message any time you want to talk again.",
    },
    "followup_offer": {
        "ja": "{days}日後に、こちらから様子をうかがってもいいですか？",
        "en": "May we check in with you in {days} days?",
    },
    "followup_yes": {
        "ja": "わかりました。{days}日後にご連絡します。それまでに話したくなったら、いつでもメッセージを送ってください。",
        "en": "All right, we will write to you in {days} days. If you want to talk before then, just send a message.",
    },
    "followup_no": {
        "ja": "わかりました。また話したくなったら、いつでもメッセージを送ってください。",
        "en": "All right. Whenever you want to talk, just send a message.",
    },
    "followup_ask": {
        "ja": "こんにちは、「つなぐ」です。その後いかがですか？また相談員と話したいですか？",
        "en": "Hello, this is Tsunagu. How are you doing? Would you like to talk with a counselor again?",
    },
    "no_partner": {
        "ja": "ごめんなさい。いまは相談を受けられる団体がありません。",
        "en": "Sorry, no partner organization can take consultations right now.",
    },
    "next_opening": {
        "ja": "次に相談を受けられるのは {when} ごろです。",
        "en": "The next opening is around {when} (Japan time).",
    },
    "leave_message": {
        "ja": "ここにメッセージを残してもらえれば、相談を受けられるようになったときに相談員に届けます。",
        "en": "You can leave a message here; we will pass it to a counselor as soon as one is available.",
    },
    "phones_open": {
        "ja": "いま電話で相談できるところ：",
        "en": "Phone lines open now:",
    },
    "partner_open": {
        "ja": "相談を受けられる団体が開きました。相談員が入るまで、もう少しお待ちください。",
        "en": "A partner organization is open now. Please wait a little until a counselor joins.",
    },
    "emergency": {
        "ja": "伝えてくれてありがとう。いますぐ危ないときは、迷わず電話してください。",
        "en": "Thank you for telling us. If you are in danger right now, please call:",
    },
}

# Answers to the check-in questions (compared after flows.matching.normalize: width, kana, case).
YES = ("はい", "yes", "1", "お願いします", "おねがいします", "お願い", "うん", "ええ", "y", "ok", "okay", "いいよ",
       "いいです", "話したい", "はなしたい", "sure", "please")
NO = ("いいえ", "no", "2", "大丈夫", "大丈夫です", "だいじょうぶ", "だいじょうぶです", "n", "いらない", "いりません",
      "結構です", "けっこうです", "ううん", "いや", "平気", "不要", "no thanks", "no thank you")


def person(key: str, language: str | None, **values: object) -> str:
    entry = PERSON[key]
    if language == "ja" or language is None:
        return entry["ja"].format(**values)
    if language in entry:
        return entry[language].format(**values)
    return f"{entry['ja'].format(**values)}\n{entry['en'].format(**values)}"


def yes_no(language: str | None) -> tuple[tuple[str, str], ...]:
    """(label, value) of the yes and no buttons."""
    if language == "en":
        return (("Yes", "yes"), ("No", "no"))
    return (("はい", "yes"), ("いいえ", "no"))


def when(moment: datetime) -> str:
    local = moment.astimezone(JST)
    return f"{local:%m/%d %H:%M}"


def hotline_lines(hotlines: Sequence[Hotline], language: str | None) -> str:
    """One line per phone line, in the person's language only (the hours too)."""
    lines = []
    for h in hotlines:
        if language == "en":
            lines.append(f"{h.name_en} {h.number} ({h.hours_for('en')})")
        else:
            lines.append(f"{h.name} {h.number}（{h.hours_for('ja')}）")
    return "\n".join(lines)


# -- for counselors: Japanese first, then English ------------------------------------------------

COUNSELOR: dict[str, str] = {
    "taken": "この相談は「{name}」さんが対応しています。 / {name} has already taken this case.",
    "moved": "この相談は別の団体に移りました。 / This case has moved to another partner.",
    "closed": "この相談は終了しています。 / This case is closed.",
    "capacity": "この団体の対応数が上限（{capacity}件）に達しています。 / Your partner is at capacity ({capacity}).",
    "unknown": "この相談は見つかりません。 / Case not found.",
    "not_active": "対応中ではないため、相談者には送られていません。 / Not sent: the case is not in conversation.",
    "not_yours": "担当の相談員だけが操作できます。 / Only the counselor on the case can do this.",
    "not_supervisor": "引き継ぎ（交代）はスーパーバイザーだけができます。 / Only a supervisor can take over a case.",
    "already_yours": "この相談はすでにあなたが対応しています。 / You already have this case.",
    "taken_over": "🔁 {name} さんが対応を引き継ぎました。 / {name} took over the case.",
    "joined": "✅ {name} さんが対応を始めました。 / {name} accepted.",
    "released": "↩️ {name} さんが順番待ちに戻しました。 / {name} released the case to the queue.",
    "closed_by": "⏹ {name} さんが終了しました（{outcome}）。 / Closed by {name} ({outcome}).",
    "followup": "🔔 {days}日後のフォローを提案しました。 / A check-in in {days} days was offered.",
    "transferred": "➡️ {org} に引き継ぎました。 / Transferred to {org}.",
    "overflowed": "⏩ {minutes}分以内に対応がなかったため {org} に回しました。 / Not accepted within {minutes} min: moved to {org}.",
    "risk": "⚠️ リスク語: {words} / Risk words: {words}",
    "person_left": "相談者が相談を終了しました。 / The person ended the consultation.",
    "person_erased": "相談者がデータを削除しました / The person erased their data",
    "left_message": "（待っている間のメッセージ / left while waiting）",
    "no_transfer": "引き継ぎ先の候補がありません。 / No partner can take a transfer now.",
    "followup_case": "🔔 フォローアップで再度つながりました。 / Back through a follow-up check-in.",
}

OUTCOMES: dict[str, str] = {
    "resolved": "解決 / resolved",
    "referred": "他機関紹介 / referred elsewhere",
    "no_reply": "応答なし / no reply",
    "other": "その他 / other",
    "person_left": "相談者が終了 / person ended",
    "erased": "相談者がデータを削除 / person erased their data",
}


def counselor(key: str, **values: object) -> str:
    return COUNSELOR[key].format(**values)


def shown(text: str | None, media: str | None) -> str:
    """What a counselor sees of a person's message: the text, or a word for media (never content)."""
    if text:
        return text
    return {"sticker": "「スタンプ」", "image": "「画像」", "video": "「動画」", "audio": "「音声」",
            "file": "「ファイル」", "location": "「位置情報」"}.get(media or "", "「メッセージ」")
