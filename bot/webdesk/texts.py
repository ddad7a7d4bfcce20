"""What the web desk's API answers a counselor with: Japanese first, then English."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    "not_found": "この相談は見つかりません / No such case here",
    "signed_out": "サインインしてください / Please sign in",
    "csrf_reload": "リクエストを確認できません。再読み込みしてください / Request refused: reload the page",
    "csrf": "リクエストを確認できません / Request refused",
    "missing": "団体ID・名前・パスワードを入力してください / Enter organization, name and password",
    "limited": "失敗が続いたため15分間サインインできません / Too many failed sign-ins: try again in 15 minutes",
    "wrong": "団体ID・名前・パスワードが一致しません / Organization, name or password is wrong",
    "outcome": "終了の理由を選んでください / Choose an outcome",
    "to": "引継ぎ先を選んでください / Choose a partner",
    "no_action": "そのような操作はありません / No such action",
    "text": "1〜{max}文字で入力してください / Write 1 to {max} characters",
}
