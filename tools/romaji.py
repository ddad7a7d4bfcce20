"""Hiragana readings to plain Hepburn romaji (no macrons), for the English names of municipalities.

Long vowels are written as place names are in English (おお, おう -> o; うう -> u: Ōita -> Oita,
Tōkyō -> Tokyo, Yūbari -> Yubari); ん is n; っ doubles the next consonant (tch before ch).
"""

from __future__ import annotations

_BASE = {
    "あ": "a", "い": "i", "う": "u", "え": "e", "お": "o",
    "か": "ka", "き": "ki", "く": "ku", "け": "ke", "こ": "ko",
    "さ": "sa", "し": "shi", "す": "su", "せ": "se", "そ": "so",
    "た": "ta", "ち": "chi", "つ": "tsu", "て": "te", "と": "to",
    "な": "na", "に": "ni", "ぬ": "nu", "ね": "ne", "の": "no",
    "は": "ha", "ひ": "hi", "ふ": "fu", "へ": "he", "ほ": "ho",
    "ま": "ma", "み": "mi", "む": "mu", "め": "me", "も": "mo",
    "や": "ya", "ゆ": "yu", "よ": "yo",
    "ら": "ra", "り": "ri", "る": "ru", "れ": "re", "ろ": "ro",
    "わ": "wa", "ゐ": "i", "ゑ": "e", "を": "o", "ん": "n",
    "が": "ga", "ぎ": "gi", "ぐ": "gu", "げ": "ge", "ご": "go",
    "ざ": "za", "じ": "ji", "ず": "zu", "ぜ": "ze", "ぞ": "zo",
    "だ": "da", "ぢ": "ji", "づ": "zu", "で": "de", "ど": "do",
    "ば": "ba", "び": "bi", "ぶ": "bu", "べ": "be", "ぼ": "bo",
    "ぱ": "pa", "ぴ": "pi", "ぷ": "pu", "ぺ": "pe", "ぽ": "po",
    "ゔ": "vu", "ぁ": "a", "ぃ": "i", "ぅ": "u", "ぇ": "e", "ぉ": "o", "ー": "",
}
_YOON = {"ゃ": "a", "ゅ": "u", "ょ": "o"}


def romaji(reading: str) -> str:
    """'さっぽろ' -> 'sapporo'; characters that are not hiragana are kept as they are."""
    syllables: list[str] = []
    i = 0
    while i < len(reading):
        ch = reading[i]
        nxt = reading[i + 1] if i + 1 < len(reading) else ""
        if nxt in _YOON and ch in _BASE:
            base = _BASE[ch]
            head = base[:-1]  # き -> k, し -> sh, ち -> ch, じ -> j
            if head in ("sh", "ch", "j"):
                syllables.append(head + _YOON[nxt])
            else:
                syllables.append(head + "y" + _YOON[nxt])
            i += 2
            continue
        syllables.append(_BASE.get(ch, ch) if ch != "っ" else "っ")
        i += 1
    out = ""
    for k, syl in enumerate(syllables):
        if syl == "っ":
            following = syllables[k + 1] if k + 1 < len(syllables) else ""
            out += "t" if following.startswith("ch") else following[:1]
            continue
        if (syl == "o" and out.endswith("o")) or (syl == "u" and out.endswith(("o", "u"))):
            continue  # おお, おう: one long o; うう: one long u
        out += syl
    return out
