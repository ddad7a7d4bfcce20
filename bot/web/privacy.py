"""GET /chat/privacy: what the service keeps of a person and for how long, as this service is set.

The periods come from the operator's retention settings (storage/erasure.py `Retention`), so the
page the chat links to says what is true here, not what the defaults would be. Japanese first,
then English; plain HTML with the chat's stylesheet, no script. The operators' version, with
every table, is docs/privacy.md.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from storage.erasure import Retention


def _days(period: timedelta, *, ja: bool) -> str:
    days = period.days
    if days == 0:
        return "相談の終了時にすぐ削除" if ja else "erased as the consultation ends"
    return f"{days}日" if ja else f"{days} day{'s' if days != 1 else ''}"


def rows(keep: Retention) -> list[tuple[str, str, str]]:
    """(Japanese, English, period in both) for each kind of record a person leaves."""
    def both(period: timedelta) -> str:
        return f"{_days(period, ja=True)} / {_days(period, ja=False)}"

    return [
        ("受け取ったメッセージと送ったメッセージ（処理の記録）", "Messages received and sent (the processing queue)",
         both(keep.queue)),
        ("ウェブチャットの会話", "The web chat conversation", both(keep.web_chat)),
        ("相談の内容（受付での回答、相談員とのやりとり、相談員のメモ）",
         "The consultation (your answers, your messages with counselors, their notes)",
         f"相談の終了から {_days(keep.cases, ja=True)} / {_days(keep.cases, ja=False)} after it closes"
         if keep.cases else both(keep.cases)),
        ("連絡先（LINE・SlackのID、暗号化）", "How to reach you (your LINE or Slack id, encrypted)",
         f"最後のやりとりから {_days(keep.addresses, ja=True)} / {_days(keep.addresses, ja=False)} "
         "after you were last in touch"),
    ]


def page(keep: Retention) -> str:
    body = "\n".join(
        f'<tr><th scope="row">{escape(ja)}<br><span lang="en">{escape(en)}</span></th>'
        f"<td>{escape(period)}</td></tr>" for ja, en, period in rows(keep))
    return f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>記録と保存期間 / What we keep</title>
<link rel="stylesheet" href="../static/chat.css">
</head>
<body>
<main class="main privacy-page">
<h1>記録と保存期間 <span lang="en">/ What we keep</span></h1>
<p>名前は聞きません。あなたの言葉はすべて暗号化して保存し、相談を受ける団体の相談員だけが読めます。</p>
<p lang="en">We never ask your name. Everything you write is stored encrypted, and only the counselors of the
organization that takes your consultation can read it.</p>
<table>
<thead><tr><th scope="col">記録 / Record</th><th scope="col">保存期間 / Kept for</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
<h2>すぐに消すには <span lang="en">/ To erase now</span></h2>
<p>チャットで「削除」と送るか、「データを削除」を押してください。確認のあと、あなたにつながる記録をすべて削除します
（相談中なら相談も終わります）。統計のために、あなたと結びつかない記録（団体、日付、テーマ、結果）だけが残ります。</p>
<p lang="en">Send 「削除」 or "delete my data" in the chat, or press "Delete my data". After you confirm, everything
linked to you is erased (and a consultation in progress ends). Only an anonymous record that cannot be linked to
you (organization, dates, topics, outcome) stays, for statistics.</p>
<p>「この端末から会話を消す」は、この端末に残る番号を消すだけです。サービス側の記録は、上の期間が過ぎると消えます。</p>
<p lang="en">"Erase this conversation from this device" only removes the number this device keeps; the service's
records are deleted when the periods above end.</p>
<p><a href="../chat">チャットに戻る / Back to the chat</a></p>
</main>
</body>
</html>
"""
