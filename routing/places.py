"""Topic ids and prefecture codes: the shared vocabulary of directory files (see DOMAIN.md)."""

from __future__ import annotations

import difflib
from types import MappingProxyType

#: topic id -> (Japanese label, English label), in the order menus show them.
TOPICS = MappingProxyType(
    {
        "loneliness": ("孤独・孤立", "Loneliness and isolation"),
        "suicide": ("死にたい気持ち", "Thoughts of suicide"),
        "dv": ("DV・パートナーからの暴力", "Domestic and partner violence"),
        "sexual_violence": ("性暴力・性被害", "Sexual violence"),
        "abuse": ("虐待", "Abuse"),
        "school": ("いじめ・学校", "Bullying and school"),
        "money": ("生活・お金・借金", "Living costs, money and debt"),
        "work": ("仕事", "Work"),
        "family": ("家族", "Family"),
        "health": ("こころ・からだ", "Mental and physical health"),
        "hikikomori": ("ひきこもり", "Social withdrawal (hikikomori)"),
        "pregnancy": ("妊娠・出産", "Pregnancy and birth"),
        "lgbtq": ("性のあり方", "Sexuality and gender (LGBTQ)"),
        "foreign": ("外国語での相談", "Consultation in other languages"),
        "carer": ("介護・ヤングケアラー", "Caring and young carers"),
        "other": ("その他", "Other"),
    }
)

#: Other names people use for a topic, and the id they mean: for suggestions when a file has a
#: word that is not an id ("domestic_violence" is `dv`, not the closest spelling `sexual_violence`).
TOPIC_ALIASES = MappingProxyType(
    {
        "lonely": "loneliness", "isolation": "loneliness", "alone": "loneliness", "kodoku": "loneliness",
        "suicidal": "suicide", "suicidality": "suicide", "self_harm": "suicide", "jisatsu": "suicide",
        "domestic_violence": "dv", "domestic": "dv", "partner_violence": "dv", "ipv": "dv",
        "rape": "sexual_violence", "sexual_abuse": "sexual_violence", "sexual_assault": "sexual_violence",
        "child_abuse": "abuse", "maltreatment": "abuse", "neglect": "abuse", "gyakutai": "abuse",
        "bullying": "school", "ijime": "school", "education": "school", "futoko": "school",
        "debt": "money", "poverty": "money", "finance": "money", "living": "money", "seikatsu": "money",
        "job": "work", "employment": "work", "workplace": "work", "shigoto": "work",
        "families": "family", "parents": "family", "kazoku": "family",
        "mental_health": "health", "mental": "health", "physical": "health", "kokoro": "health",
        "withdrawal": "hikikomori", "shut_in": "hikikomori", "recluse": "hikikomori",
        "pregnant": "pregnancy", "birth": "pregnancy", "maternity": "pregnancy", "ninshin": "pregnancy",
        "lgbt": "lgbtq", "lgbtqia": "lgbtq", "gender": "lgbtq", "sexuality": "lgbtq", "sogi": "lgbtq",
        "foreigner": "foreign", "foreigners": "foreign", "language": "foreign", "languages": "foreign",
        "multilingual": "foreign", "care": "carer", "caring": "carer", "caregiver": "carer",
        "young_carer": "carer", "young_carers": "carer", "kaigo": "carer", "misc": "other", "general": "other",
    }
    | {ja: topic for topic, (ja, _en) in TOPICS.items()}
    | {en.lower(): topic for topic, (_ja, en) in TOPICS.items()}
)


def topic_suggestion(word: str) -> str | None:
    """The topic id a misspelt or other word most likely means: its meaning first (aliases and
    labels), then the closest spelling; None if nothing is close."""
    key = " ".join(str(word).strip().lower().replace("-", "_").split()).replace(" ", "_")
    if key in TOPIC_ALIASES:
        return TOPIC_ALIASES[key]
    if key.rstrip("s") in TOPIC_ALIASES:
        return TOPIC_ALIASES[key.rstrip("s")]
    close = difflib.get_close_matches(key, [*TOPICS, *TOPIC_ALIASES], n=1)
    if not close:
        return None
    return close[0] if close[0] in TOPICS else TOPIC_ALIASES[close[0]]


_PREFS = [
    ("北海道", "Hokkaido"), ("青森県", "Aomori"), ("岩手県", "Iwate"), ("宮城県", "Miyagi"),
    ("秋田県", "Akita"), ("山形県", "Yamagata"), ("福島県", "Fukushima"), ("茨城県", "Ibaraki"),
    ("栃木県", "Tochigi"), ("群馬県", "Gunma"), ("埼玉県", "Saitama"), ("千葉県", "Chiba"),
    ("東京都", "Tokyo"), ("神奈川県", "Kanagawa"), ("新潟県", "Niigata"), ("富山県", "Toyama"),
    ("石川県", "Ishikawa"), ("福井県", "Fukui"), ("山梨県", "Yamanashi"), ("長野県", "Nagano"),
    ("岐阜県", "Gifu"), ("静岡県", "Shizuoka"), ("愛知県", "Aichi"), ("三重県", "Mie"),
    ("滋賀県", "Shiga"), ("京都府", "Kyoto"), ("大阪府", "Osaka"), ("兵庫県", "Hyogo"),
    ("奈良県", "Nara"), ("和歌山県", "Wakayama"), ("鳥取県", "Tottori"), ("島根県", "Shimane"),
    ("岡山県", "Okayama"), ("広島県", "Hiroshima"), ("山口県", "Yamaguchi"), ("徳島県", "Tokushima"),
    ("香川県", "Kagawa"), ("愛媛県", "Ehime"), ("高知県", "Kochi"), ("福岡県", "Fukuoka"),
    ("佐賀県", "Saga"), ("長崎県", "Nagasaki"), ("熊本県", "Kumamoto"), ("大分県", "Oita"),
    ("宮崎県", "Miyazaki"), ("鹿児島県", "Kagoshima"), ("沖縄県", "Okinawa"),
]

#: JIS X 0401 code "01".."47" -> Japanese name.
PREFECTURES = MappingProxyType({f"{i:02d}": ja for i, (ja, _en) in enumerate(_PREFS, start=1)})
#: JIS X 0401 code "01".."47" -> English name.
PREFECTURES_EN = MappingProxyType({f"{i:02d}": en for i, (_ja, en) in enumerate(_PREFS, start=1)})
