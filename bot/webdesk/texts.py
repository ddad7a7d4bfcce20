"""What the web desk's API answers a counselor with: Japanese first, then English."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "not_found": "この相談は見つかりません / No such case here",
    "signed_out": "サインインしてください / Please sign in",
    "csrf_reload": "リクエストを確認できません。再読み込みしてください / Request refused: reload the page",
    "csrf": "リクエストを確認できません / Request refused",
    "missing": "団体ID・名前・パスワードを入力してください / Enter organization, name and password",
    "limited": "失敗が続いたため、{seconds}秒待ってからもう一度お試しください / Too many failed sign-ins: try again in {seconds} s",
    "too_long": "団体ID・名前・パスワードが長すぎます / Organization, name or password is too long",
    "wrong": "団体ID・名前・パスワードが一致しません / Organization, name or password is wrong",
    "outcome": "終了の理由を選んでください / Choose an outcome",
    "to": "引継ぎ先を選んでください / Choose a partner",
    "no_action": "そのような操作はありません / No such action",
    "text": "1〜{max}文字で入力してください / Write 1 to {max} characters",
    "handle": "相談者の番号は「K7-3F」の形で入力してください / Write the handle like K7-3F",
    "topic": "そのテーマはありません / No such topic",
    "date": "日付は「2026-01-31」の形で入力してください / Write dates like 2026-01-31",
    "duty": "対応中にするか休止にするかを選んでください / Say on or off duty",
}
