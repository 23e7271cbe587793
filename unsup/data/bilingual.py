"""Property listings written in Thai and in English with a known word-level translation, for
translation without parallel text (unsupervised word translation: Conneau et al. 2018 "MUSE",
Artetxe et al. 2018 "Vecmap"; unsupervised sentence translation: Lample et al. 2018).

Those methods learn one embedding space per language from monolingual text and align them. That
only works when the two languages describe the same world: a word and its translation must have
the same *kind* of contexts, and different words must have different contexts. So the corpus is
written in two steps.

1. **What a listing says** (:class:`Listing`, :func:`sample_listings`), independent of language:
   a deal (sale / rent), an area (the places of :data:`unsup.data.listings.AREAS`, each of a kind:
   city, suburb, beach, mountain, town), a property type from the kind's mix, bedrooms, bathrooms,
   a size, storeys or a floor, a condition, the furnishing, a price (by type, place and price band),
   and three sets of phrases, each phrase drawn with its own probability that depends on the type,
   the area (or its kind) and the deal: **features** (private pool, sea view, carport, title deed,
   ...), **nearby places** (skytrain station, international school, night market, ...) and
   **context** (many tourists, cool weather, ideal for families, 2 months deposit, ...). Beach
   towns talk of sea views, tourists and rental income, Bangkok of skytrains, traffic and offices,
   the mountains of cool weather, mist and gardens; condos of lobbies and keycards, houses of
   fences, carports and villages, land of title deeds and paved roads; and every place has a few
   phrases of its own (Chiang Mai's old city, Hua Hin's golf courses, Samui's piers), so that every
   content word, place names included, has contexts of its own and its own frequency.
2. **How it is written** (:func:`render`): a small grammar per language over word tables. Each
   table entry (:class:`Entry`) is one Thai word and one English word (sometimes several forms on
   one side, e.g. บ้าน = house / home, ใกล้ = near / close, chosen per use with fixed
   probabilities), so the word-level truth (:data:`LEXICON`, :func:`truth`) is read off the very
   tables the grammars write from. The grammars differ where the languages do: Thai puts the
   modifier after the noun (สระว่ายน้ำ ส่วนตัว = private pool, วิว ทะเล = sea view), counts with
   classifiers (ห้องนอน 3 ห้อง as well as 3 ห้องนอน), has no articles, says มี for "with" and puts
   the deal first (ขาย บ้าน หัวหิน = house for sale in huahin). Numbers are digits in both
   languages (the same strings). English is lowercase; place names are one English word each
   (huahin, chiangmai: one token per Thai name, as in web addresses), so every content word has a
   word-level translation.

Why the design: the previous generator paired *phrases*, drew background words independently of
the listing (so they shared every context) and made the words of one theme interchangeable: no
method can align words that the data do not tell apart. Here every content word has a translation
in the lexicon, its use depends on the listing's meaning, and word frequencies differ.

The two training corpora (:func:`corpus`) describe *different* listings: English and Thai use
different seeds (:data:`TRAIN_SEEDS`), so nothing is parallel. The held-out test set
(:func:`parallel`) is a third seed (:data:`HELDOUT_SEED`) rendered in both languages with the same
template choices (the renderers draw the same random numbers), so it has a reference translation.

Everything is a pure function of its arguments: ``sample_listings(n, seed)``, ``corpus(lang, n,
seed)`` and ``parallel(n, seed)`` give the same output on every call; ``corpus(lang, n, s)`` is
the ``lang`` side of ``parallel(n, s)``.

Text: :func:`to_text` writes tokens the way a listing is typed (English with spaces; Thai with the
words of a phrase run together and a space between phrases and around numbers), :func:`tokenize`
reads text back (Thai through PyThaiNLP's ``newmm`` with the Thai vocabulary as its dictionary),
and ``tokenize(to_text(t, lang), lang) == t`` for every generated listing (tests check).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np

from unsup.data.listings import AREAS
from unsup.text import _thai_setup

MAX_LISTINGS = 200_000
LANGS = ("en", "th")
TRAIN_SEEDS = {"en": 101, "th": 202}
"""Default seeds of the monolingual training corpora: different listings in each language."""
HELDOUT_SEED = 303
"""Seed of the held-out parallel test set (neither training seed)."""

# -- words ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One word of a table: its Thai and English forms (the first form is the usual one) with the
    probability of each form, and whether it is a content word (function words are flagged)."""

    th: tuple[str, ...]
    en: tuple[str, ...]
    p_th: tuple[float, ...]
    p_en: tuple[float, ...]
    content: bool = True


def _e(th: str | Mapping[str, float], en: str | Mapping[str, float],
       content: bool = True) -> Entry:
    """An entry from a form or a {form: probability} mapping on each side."""
    def forms(x):
        if isinstance(x, str):
            return (x,), (1.0,)
        total = sum(x.values())
        return tuple(x), tuple(v / total for v in x.values())
    (t, pt), (e, pe) = forms(th), forms(en)
    return Entry(t, e, pt, pe, content)


# One table per slot of the grammar: key -> Entry. The keys are what listings and phrase specs
# refer to; LEXICON is built from these tables, so it holds exactly what the grammars write.
DEAL_WORDS = {
    "sale": _e("ขาย", "sale"),
    "rent": _e("เช่า", "rent"),
}
TYPE_WORDS = {
    "condo": _e("คอนโด", {"condo": 0.75, "condominium": 0.25}),
    "house": _e("บ้าน", {"house": 0.7, "home": 0.3}),
    "townhouse": _e("ทาวน์เฮาส์", "townhouse"),
    "villa": _e("วิลล่า", "villa"),
    "land": _e("ที่ดิน", {"land": 0.8, "plot": 0.2}),
    "apartment": _e("อพาร์ทเมนท์", "apartment"),
    "shophouse": _e("ตึกแถว", "shophouse"),
    "duplex": _e("บ้านแฝด", "duplex"),
    "penthouse": _e("เพนท์เฮาส์", "penthouse"),
    "warehouse": _e("โกดัง", "warehouse"),
    "resort": _e("รีสอร์ท", "resort"),
}
TYPES = tuple(TYPE_WORDS)

# Each area of listings.AREAS: one English token; the Thai name is the one listings.py uses.
PLACE_EN = {
    "bkk_sukhumvit": "sukhumvit", "bkk_silom": "silom", "bkk_ratchada": "ratchada",
    "bkk_ari": "ari", "bkk_bangna": "bangna", "nonthaburi": "nonthaburi", "rangsit": "rangsit",
    "pattaya": "pattaya", "jomtien": "jomtien", "huahin": "huahin", "chaam": "chaam",
    "phuket_patong": "patong", "phuket_kata": "kata", "samui": "samui", "rayong": "rayong",
    "khaoyai": "khaoyai", "mueaklek": "muaklek", "chiangmai": "chiangmai", "maerim": "maerim",
    "korat": "korat", "khonkaen": "khonkaen", "hatyai": "hatyai",
}
AREA_KEYS = tuple(a[0] for a in AREAS)
assert set(PLACE_EN) == set(AREA_KEYS), "every area needs its English token"
PLACE_WORDS = {a[0]: _e(a[1], PLACE_EN[a[0]]) for a in AREAS}
PLACE_WORDS.update({  # provinces, written after an area now and then
    "bangkok": _e("กรุงเทพ", "bangkok"), "phuket": _e("ภูเก็ต", "phuket"),
    "chonburi": _e("ชลบุรี", "chonburi"), "saraburi": _e("สระบุรี", "saraburi"),
})
REGION = {"bkk_sukhumvit": "bangkok", "bkk_silom": "bangkok", "bkk_ratchada": "bangkok",
          "bkk_ari": "bangkok", "bkk_bangna": "bangkok", "phuket_patong": "phuket",
          "phuket_kata": "phuket", "pattaya": "chonburi", "jomtien": "chonburi",
          "mueaklek": "saraburi", "maerim": "chiangmai", "khaoyai": "korat"}
KIND = {a[0]: ("mountain" if a[7] == "nature" else a[7]) for a in AREAS}
"""Kind of each area: city, suburb, beach, mountain (listings.py's "nature") or town."""
KINDS = ("city", "suburb", "beach", "mountain", "town")

# Nouns that features, nearby places and context phrases are made of.
NOUN_WORDS = {
    # features
    "pool": _e("สระว่ายน้ำ", "pool"), "garden": _e("สวน", "garden"),
    "orchard": _e("สวน", "orchard"), "plantation": _e("สวน", "plantation"),
    "view": _e("วิว", "view"), "gym": _e("ฟิตเนส", {"gym": 0.6, "fitness": 0.4}),
    "sauna": _e("ซาวน่า", "sauna"), "jacuzzi": _e("จากุซซี่", "jacuzzi"),
    "balcony": _e("ระเบียง", "balcony"), "parking": _e("ที่จอดรถ", "parking"),
    "carport": _e("โรงจอดรถ", "carport"), "security": _e("รักษาความปลอดภัย", "security"),
    "cctv": _e("กล้องวงจรปิด", "cctv"), "keycard": _e("คีย์การ์ด", "keycard"),
    "lift": _e("ลิฟต์", {"lift": 0.6, "elevator": 0.4}), "lobby": _e("ล็อบบี้", "lobby"),
    "kitchen": _e("ห้องครัว", "kitchen"), "aircon": _e("แอร์", "aircon"),
    "washer": _e("เครื่องซักผ้า", "washer"),
    "internet": _e("อินเทอร์เน็ต", {"internet": 0.7, "wifi": 0.3}),
    "solar": _e("โซลาร์เซลล์", "solar"), "study": _e("ห้องทำงาน", "study"),
    "storage": _e("ห้องเก็บของ", "storage"), "clubhouse": _e("คลับเฮาส์", "clubhouse"),
    "playground": _e("สนามเด็กเล่น", "playground"),
    "sala": _e("ศาลา", {"sala": 0.6, "pavilion": 0.4}), "fence": _e("รั้ว", "fence"),
    "deed": _e("โฉนด", "deed"), "road": _e("ถนน", "road"),
    "electricity": _e("ไฟฟ้า", "electricity"), "water": _e("น้ำประปา", "water"),
    "flooring": _e("พื้น", "floor"), "ceiling": _e("เพดาน", "ceiling"),
    "windows": _e("หน้าต่าง", "windows"), "bathtub": _e("อ่างอาบน้ำ", "bathtub"),
    "closet": _e("ห้องแต่งตัว", "closet"), "heater": _e("เครื่องทำน้ำอุ่น", "heater"),
    "bbq": _e("บาร์บีคิว", "bbq"), "terrace": _e("เทอเรส", "terrace"),
    "laundry": _e("ห้องซักรีด", "laundry"), "library": _e("ห้องสมุด", "library"),
    "court": _e("สนาม", "court"), "course": _e("สนาม", "course"),
    "shuttle": _e("รถรับส่ง", "shuttle"), "mezzanine": _e("ชั้นลอย", "mezzanine"),
    "office": _e("ออฟฟิศ", "office"), "transformer": _e("หม้อแปลง", "transformer"),
    "pond": _e("บ่อน้ำ", "pond"), "shrine": _e("ห้องพระ", "shrine"),
    "attic": _e("ห้องใต้หลังคา", "attic"), "lounge": _e("ห้องนั่งเล่น", "lounge"),
    "level": _e("ชั้น", "floor"),
    # nearby places
    "station": _e("สถานี", "station"), "skytrain": _e("รถไฟฟ้า", {"skytrain": 0.5, "bts": 0.5}),
    "subway": _e("รถไฟใต้ดิน", {"subway": 0.55, "mrt": 0.45}),
    "school": _e("โรงเรียน", "school"), "university": _e("มหาวิทยาลัย", "university"),
    "hospital": _e("โรงพยาบาล", "hospital"), "mall": _e("ห้าง", "mall"),
    "market": _e("ตลาด", "market"), "beach": _e({"ชายหาด": 0.7, "หาด": 0.3}, "beach"),
    "airport": _e("สนามบิน", "airport"), "temple": _e("วัด", "temple"),
    "park": _e("สวนสาธารณะ", "park"), "reserve": _e("อุทยาน", "park"),
    "pier": _e("ท่าเรือ", "pier"), "expressway": _e("ทางด่วน", "expressway"),
    "factories": _e("โรงงาน", "factories"), "waterfall": _e("น้ำตก", "waterfall"),
    "cafe": _e("คาเฟ่", "cafe"), "restaurants": _e("ร้านอาหาร", "restaurants"),
    "waterpark": _e("สวนน้ำ", "waterpark"), "supermarket": _e("ซูเปอร์มาร์เก็ต", "supermarket"),
    "bank": _e("ธนาคาร", "bank"), "farm": _e("ฟาร์ม", "farm"),
    "nature": _e("ธรรมชาติ", "nature"),
    # context
    "tourists": _e("นักท่องเที่ยว", "tourists"), "quota": _e("โควต้า", "quota"),
    "buyers": _e("ผู้ซื้อ", "buyers"), "income": _e("รายได้", "income"),
    "guarantee": _e("การันตี", "guarantee"), "investment": _e("ลงทุน", "investment"),
    "traffic": _e("รถติด", "traffic"), "flooding": _e("น้ำท่วม", "flooding"),
    "people": _e("คน", "people"), "center": _e("ใจกลาง", {"center": 0.6, "centre": 0.4}),
    "weather": _e("อากาศ", "weather"), "air": _e("อากาศ", "air"),
    "location": _e("ทำเล", "location"), "mist": _e("หมอก", "mist"),
    "families": _e("ครอบครัว", "families"), "students": _e("นักศึกษา", "students"),
    "retirement": _e("เกษียณ", "retirement"), "business": _e("ค้าขาย", "business"),
    "holiday": _e("พักผ่อน", "holiday"), "village": _e("หมู่บ้าน", "village"),
    "management": _e("นิติบุคคล", "management"), "expats": _e("ชาวต่างชาติ", "expats"),
    "breeze": _e("ลม", "breeze"), "sunset": _e("พระอาทิตย์ตก", "sunset"),
    "nightlife": _e("ชีวิตกลางคืน", "nightlife"), "diving": _e("ดำน้ำ", "diving"),
    "hiking": _e("เดินป่า", "hiking"), "transfer": _e("ค่าโอน", "transfer"),
    "discount": _e("ส่วนลด", "discount"), "price": _e("ราคา", "price"),
    "deposit": _e("มัดจำ", "deposit"), "contract": _e("สัญญา", "contract"),
    "mountains": _e("ภูเขา", "mountains"), "furniture": _e("เฟอร์นิเจอร์", "furniture"),
}
# Modifiers (adjectives, nouns used as modifiers, verbs of verb-object phrases, units).
MODIFIER_WORDS = {
    "private": _e("ส่วนตัว", "private"), "private_org": _e("เอกชน", "private"),
    "shared": _e("ส่วนกลาง", {"shared": 0.5, "communal": 0.5}),
    "large": _e("ใหญ่", {"large": 0.6, "big": 0.4}), "main": _e("ใหญ่", "main"),
    "wide": _e("กว้าง", {"wide": 0.5, "spacious": 0.5}),
    "sea": _e("ทะเล", "sea"), "mountain": _e("ภูเขา", "mountain"), "city": _e("เมือง", "city"),
    "town": _e("ตัวเมือง", "town"), "lake": _e("ทะเลสาบ", "lake"),
    "river": _e("แม่น้ำ", "river"), "golf": _e("กอล์ฟ", "golf"),
    "open": _e("เปิด", "open"), "wooden": _e("ไม้", "wooden"), "marble": _e("หินอ่อน", "marble"),
    "high": _e("สูง", "high"), "paved": _e("ลาดยาง", "paved"), "fruit": _e("ผลไม้", "fruit"),
    "durian": _e("ทุเรียน", "durian"), "mango": _e("มะม่วง", "mango"),
    "rubber": _e("ยาง", "rubber"), "coconut": _e("มะพร้าว", "coconut"),
    "palm": _e("ปาล์ม", "palm"), "tennis": _e("เทนนิส", "tennis"),
    "basketball": _e("บาสเกตบอล", "basketball"),
    "international": _e("นานาชาติ", "international"), "national": _e("แห่งชาติ", "national"),
    "night": _e("กลางคืน", "night"), "old": _e("เก่า", "old"), "rooftop": _e("ดาดฟ้า", "rooftop"),
    "foreign": _e("ต่างชาติ", "foreign"), "thai": _e("ไทย", "thai"),
    "rental": _e("ค่าเช่า", "rental"), "cool": _e("เย็น", "cool"),
    "fresh": _e("บริสุทธิ์", "fresh"), "fresh_food": _e("สด", "fresh"),
    "clean": _e("สะอาด", "clean"), "good": _e("ดี", "good"),
    "quiet": _e("เงียบสงบ", {"quiet": 0.6, "peaceful": 0.4}),
    "professional": _e("มืออาชีพ", "professional"), "special": _e("พิเศษ", "special"),
    "working": _e("ทำงาน", "working"), "young": _e("รุ่นใหม่", "young"),
    "many": _e("เยอะ", "many"), "beautiful": _e("สวย", "beautiful"), "prime": _e("ทอง", "prime"),
    "avoid": _e("เลี่ยง", "avoid"), "no": _e("ไม่มี", "no"), "free": _e("ฟรี", "free"),
    "negotiable": _e("ต่อรองได้", "negotiable"), "surrounded": _e("ท่ามกลาง", "surrounded"),
    "hour": _e("ชั่วโมง", "hour"), "months": _e("เดือน", "months"), "year": _e("ปี", "year"),
}
# The frame of a listing: title, details, price, condition, furnishing, contact.
FRAME_WORDS = {
    "new": _e("ใหม่", "new"), "newly": _e("ใหม่", "newly"),
    "resale": _e("มือสอง", {"resale": 0.6, "secondhand": 0.4}),
    "luxury": _e("หรูหรา", {"luxury": 0.7, "luxurious": 0.3}), "cheap": _e("ราคาถูก", "cheap"),
    "urgent": _e("ด่วน", "urgent"), "storey": _e("ชั้น", "storey"),
    "bedroom": _e("ห้องนอน", {"bedrooms": 0.8, "bedroom": 0.1, "bed": 0.1}),
    "bathroom": _e("ห้องน้ำ", {"bathrooms": 0.8, "bathroom": 0.1, "bath": 0.1}),
    "rooms": _e("ห้องพัก", "rooms"), "sqm": _e("ตารางเมตร", "sqm"), "rai": _e("ไร่", "rai"),
    "wah": _e("ตารางวา", {"sqw": 0.6, "wah": 0.4}),
    "million": _e("ล้าน", "million"), "baht": _e("บาท", "baht"), "month": _e("เดือน", "month"),
    "rent_price": _e("ค่าเช่า", "rent"),
    "renovated": _e("รีโนเวท", "renovated"), "condition": _e("สภาพ", "condition"),
    "furnished": _e("เฟอร์นิเจอร์", "furnished"), "fully": _e("ครบ", "fully"),
    "partly": _e("บางส่วน", "partly"),
    "near": _e("ใกล้", {"near": 0.65, "close": 0.35}), "minutes": _e("นาที", {"minutes": 0.7,
                                                                              "mins": 0.3}),
    "walk": _e("เดิน", "walk"), "ideal": _e("เหมาะ", {"ideal": 0.55, "suitable": 0.45}),
    "next": _e("ติด", "next"),
    "contact": _e("ติดต่อ", "contact"), "call": _e("โทร", "call"),
    "interested": _e("สนใจ", "interested"), "owner": _e("เจ้าของ", "owner"),
    "agent": _e("นายหน้า", "agent"),
}
# Function words that have a counterpart in the other language (flagged, not content) ...
FUNCTION_WORDS = {
    "and": _e("และ", "and", False), "with": _e("มี", "with", False),
    "in": _e("ใน", "in", False), "for": _e("สำหรับ", "for", False),
    "per": _e("ต่อ", "per", False), "to": _e("ถึง", "to", False),
    "only": _e("เพียง", "only", False), "featuring": _e("พร้อม", "featuring", False),
    "on": _e("อยู่", "on", False),
}
# ... and those that have none: Thai classifiers and particles, English articles.
THAI_ONLY = {"cls_room": "ห้อง", "give": "ให้", "each": "ละ"}
ENGLISH_ONLY = ("the", "a", "by")

TABLES: dict[str, dict[str, Entry]] = {
    "deal": DEAL_WORDS, "type": TYPE_WORDS, "place": PLACE_WORDS, "noun": NOUN_WORDS,
    "modifier": MODIFIER_WORDS, "frame": FRAME_WORDS, "function": FUNCTION_WORDS,
}
WORDS: dict[str, Entry] = {}
for _name, _table in TABLES.items():
    for _k, _v in _table.items():
        assert _k not in WORDS, f"word key {_k!r} is in two tables"
        WORDS[_k] = _v


def _lexicon() -> tuple[tuple[str, str, bool], ...]:
    pairs: dict[tuple[str, str], bool] = {}
    for entry in WORDS.values():
        for t in entry.th:
            for e in entry.en:
                pairs[(t, e)] = pairs.get((t, e), False) or entry.content
    return tuple(sorted((t, e, c) for (t, e), c in pairs.items()))


LEXICON: tuple[tuple[str, str, bool], ...] = _lexicon()
"""Every (thai, english, is_content) word pair the grammars can write, sorted."""


def truth(direction: str = "th-en") -> dict[str, frozenset[str]]:
    """The true translations of every content word: ``"th-en"`` maps each Thai content word to
    the set of its English translations, ``"en-th"`` the reverse."""
    if direction not in ("th-en", "en-th"):
        raise ValueError("direction must be 'th-en' or 'en-th'")
    out: dict[str, set[str]] = {}
    for t, e, content in LEXICON:
        if content:
            src, tgt = (t, e) if direction == "th-en" else (e, t)
            out.setdefault(src, set()).add(tgt)
    return {k: frozenset(v) for k, v in sorted(out.items())}


# -- what a listing says ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """A feature, nearby place or context phrase, and how likely a listing is to say it.

    ``frame`` says how the words are written (Thai / English):

    - ``np``: head and modifier, ``words = (head, modifier)`` or ``(head,)``: English "modifier
      head", Thai "head modifier" (สระว่ายน้ำ ส่วนตัว / private pool);
    - ``vp``: the two words in the same order in both languages (ฟรี ค่าโอน / free transfer);
    - ``for``: เหมาะ สำหรับ + np / ideal for + np;  ``by``: ท่ามกลาง ธรรมชาติ / surrounded by
      nature;  ``in``: ใน + np / in (the) np;  ``next``: ติด + np / next to (the) np;
    - ``num``: ``words = (head, unit)`` with a number from ``nums``: Thai "head n unit", English
      "n unit head" (มัดจำ 2 เดือน / 2 months deposit).

    Probability in a listing: ``base * types[type] * (areas[area] if the area is listed, else
    kinds[kind])``, capped at 0.95; ``"*"`` is the default of ``types`` and ``kinds``; ``deal``
    restricts the phrase to sales or rentals."""

    key: str
    frame: str
    words: tuple[str, ...]
    base: float
    types: Mapping[str, float] = field(default_factory=dict)
    kinds: Mapping[str, float] = field(default_factory=dict)
    areas: Mapping[str, float] = field(default_factory=dict)
    deal: str | None = None
    nums: tuple[int, ...] = ()


def _p(key, frame, words, base, types=None, kinds=None, areas=None, deal=None, nums=()) -> Phrase:
    return Phrase(key, frame, tuple(words), base, types or {}, kinds or {}, areas or {}, deal,
                  tuple(nums))


# Shorthand for type multipliers: nothing of the kind on land or in a warehouse.
_NO_LAND = {"land": 0, "warehouse": 0}

FEATURES: tuple[Phrase, ...] = (
    _p("pool", "np", ["pool"], 0.22, {"condo": 2.2, "penthouse": 1.5, "apartment": 1,
       "villa": 1.2, "resort": 2.5, "house": 0.6, "townhouse": 0.2, "duplex": 0.2, "*": 0},
       {"beach": 1.5, "city": 1.1, "mountain": 0.7, "suburb": 0.8, "*": 1}),
    _p("private_pool", "np", ["pool", "private"], 0.06, {"villa": 11, "house": 1.8,
       "resort": 4, "penthouse": 3, "duplex": 0.5, "*": 0},
       {"beach": 2.2, "mountain": 1.4, "city": 0.4, "suburb": 0.6, "town": 0.5}),
    _p("shared_pool", "np", ["pool", "shared"], 0.09, {"condo": 1.5, "townhouse": 1.8,
       "house": 1.2, "duplex": 1.5, "*": 0}, {"suburb": 1.8, "town": 1.2, "beach": 0.6, "*": 1}),
    _p("rooftop_pool", "np", ["pool", "rooftop"], 0.05, {"condo": 2.5, "penthouse": 4,
       "apartment": 0.5, "*": 0}, {"city": 2.5, "beach": 0.8, "*": 0.3}),
    _p("garden", "np", ["garden"], 0.18, {"house": 2.4, "villa": 1.8, "duplex": 1.8,
       "townhouse": 0.9, "land": 0.4, "resort": 2.2, "*": 0.05},
       {"mountain": 2.2, "suburb": 1.3, "city": 0.6, "*": 1}),
    _p("large_garden", "np", ["garden", "large"], 0.05, {"house": 2, "villa": 3, "resort": 3,
       "land": 0.5, "*": 0}, {"mountain": 3, "*": 0.6}),
    _p("beautiful_garden", "np", ["garden", "beautiful"], 0.03, {"house": 2, "villa": 2,
       "resort": 2.5, "townhouse": 0.7, "*": 0}, {"mountain": 2, "*": 1}),
    _p("rooftop_garden", "np", ["garden", "rooftop"], 0.03, {"condo": 2.5, "penthouse": 3,
       "townhouse": 1.5, "shophouse": 1, "*": 0}, {"city": 2, "*": 1}),
    _p("fruit_orchard", "np", ["orchard", "fruit"], 0.03, {"land": 5, "house": 1.2,
       "resort": 2, "*": 0}, {"mountain": 2.5, "town": 1.5, "*": 0.5}),
    _p("durian_orchard", "np", ["orchard", "durian"], 0.01, {"land": 6, "house": 0.5, "*": 0},
       {"beach": 0.5, "town": 1, "*": 0.3}, {"rayong": 9, "samui": 3}),
    _p("mango_orchard", "np", ["orchard", "mango"], 0.015, {"land": 6, "house": 0.6,
       "resort": 1, "*": 0}, {"mountain": 2.5, "town": 1.2, "*": 0.2}),
    _p("rubber_plantation", "np", ["plantation", "rubber"], 0.01, {"land": 7, "*": 0},
       {"town": 1, "*": 0.2}, {"hatyai": 7, "phuket_kata": 2, "rayong": 2}),
    _p("coconut_plantation", "np", ["plantation", "coconut"], 0.01, {"land": 7, "resort": 1,
       "*": 0}, {"beach": 1, "*": 0.1}, {"samui": 6, "chaam": 2}),
    _p("palm_plantation", "np", ["plantation", "palm"], 0.008, {"land": 7, "*": 0},
       {"beach": 0.5, "town": 1, "*": 0.1}, {"hatyai": 4, "rayong": 3}),
    _p("sea_view", "np", ["view", "sea"], 0.06, {"condo": 2, "villa": 2.5, "penthouse": 3,
       "resort": 2, "land": 1, "house": 0.8, "*": 0.3}, {"beach": 9, "*": 0}),
    _p("mountain_view", "np", ["view", "mountain"], 0.06, {"villa": 2.5, "house": 1.6,
       "resort": 2.5, "land": 1.3, "condo": 0.8, "*": 0.3}, {"mountain": 8, "*": 0},
       {"samui": 1.2, "phuket_kata": 0.8}),
    _p("city_view", "np", ["view", "city"], 0.05, {"condo": 3, "penthouse": 5,
       "apartment": 1.2, "*": 0}, {"city": 5, "town": 1.5, "*": 0}),
    _p("lake_view", "np", ["view", "lake"], 0.02, {"house": 2, "villa": 2, "land": 2,
       "condo": 1, "*": 0.3}, {"mountain": 3, "suburb": 1.5, "*": 0}, {"khonkaen": 10}),
    _p("river_view", "np", ["view", "river"], 0.02, {"condo": 3, "penthouse": 2, "house": 1.5,
       "*": 0.3}, {"*": 0}, {"bkk_silom": 3.5, "nonthaburi": 6, "bkk_ratchada": 0.5}),
    _p("golf_view", "np", ["view", "golf"], 0.03, {"villa": 3, "house": 2, "condo": 1,
       "*": 0.2}, {"*": 0.2}, {"huahin": 6, "khaoyai": 3, "chaam": 2}),
    _p("beautiful_view", "np", ["view", "beautiful"], 0.05, {"villa": 2, "condo": 1.2,
       "penthouse": 2, "resort": 2, "land": 1, "*": 0.5},
       {"beach": 2, "mountain": 2.5, "city": 1, "*": 0.5}),
    _p("gym", "np", ["gym"], 0.14, {"condo": 3.2, "penthouse": 2, "apartment": 1.4,
       "villa": 0.3, "resort": 0.5, "townhouse": 0.2, "*": 0}, {"city": 1.4, "*": 1}),
    _p("sauna", "np", ["sauna"], 0.035, {"condo": 3, "penthouse": 2, "resort": 2,
       "villa": 0.8, "*": 0}, {"city": 1.3, "beach": 1.1, "*": 0.8}),
    _p("jacuzzi", "np", ["jacuzzi"], 0.03, {"villa": 4, "penthouse": 5, "resort": 2.5,
       "condo": 0.4, "house": 0.5, "*": 0}, {"beach": 2, "mountain": 1.5, "*": 0.7}),
    _p("balcony", "np", ["balcony"], 0.13, {"condo": 2.2, "apartment": 2, "penthouse": 1.5,
       "townhouse": 0.9, "house": 0.5, "*": 0}),
    _p("wide_balcony", "np", ["balcony", "wide"], 0.04, {"condo": 2, "penthouse": 3,
       "villa": 1.5, "apartment": 0.5, "*": 0}, {"beach": 2, "*": 1}),
    _p("parking", "np", ["parking"], 0.2, {"condo": 1.6, "house": 1.7, "townhouse": 2.2,
       "shophouse": 1.8, "warehouse": 2.5, "apartment": 1.2, "duplex": 1.5, "land": 0, "*": 1},
       {"city": 1.4, "*": 1}),
    _p("carport", "np", ["carport"], 0.12, {"house": 3, "townhouse": 2.8, "duplex": 2.6,
       "villa": 1, "*": 0}, {"suburb": 1.5, "*": 1}),
    _p("security24", "num", ["security", "hour"], 0.1, {"condo": 2.5, "apartment": 1.5,
       "penthouse": 2, "townhouse": 1.6, "house": 1.3, "duplex": 1.3, "villa": 0.8, "land": 0,
       "*": 0.3}, {"city": 1.3, "suburb": 1.3, "*": 1}, nums=(24,)),
    _p("security", "np", ["security"], 0.1, {"house": 2, "townhouse": 1.5, "villa": 2,
       "warehouse": 2, "land": 0, "*": 1}, {"suburb": 1.5, "*": 1}),
    _p("cctv", "np", ["cctv"], 0.09, {"condo": 1.5, "townhouse": 1.5, "shophouse": 2,
       "warehouse": 3, "apartment": 2, "land": 0, "*": 0.5}),
    _p("keycard", "np", ["keycard"], 0.09, {"condo": 3.5, "apartment": 3, "penthouse": 2,
       "*": 0}, {"city": 1.3, "*": 1}),
    _p("lift", "np", ["lift"], 0.08, {"condo": 3, "penthouse": 2, "apartment": 1.5,
       "shophouse": 0.6, "*": 0}),
    _p("private_lift", "np", ["lift", "private"], 0.02, {"penthouse": 15, "villa": 1, "*": 0}),
    _p("lobby", "np", ["lobby"], 0.07, {"condo": 3.5, "penthouse": 2, "apartment": 1, "*": 0},
       {"city": 1.5, "*": 1}),
    _p("kitchen", "np", ["kitchen"], 0.1, {"house": 2, "townhouse": 2, "duplex": 2,
       "villa": 1.5, "condo": 0.7, "apartment": 0.3, "resort": 0.5, "shophouse": 0.5, "*": 0}),
    _p("open_kitchen", "np", ["kitchen", "open"], 0.04, {"condo": 2, "villa": 1.5,
       "house": 1.2, "penthouse": 2, "*": 0}),
    _p("aircon", "np", ["aircon"], 0.14, {"condo": 1.5, "apartment": 3, "house": 1,
       "townhouse": 1.2, "penthouse": 1, "villa": 1, "duplex": 1, "shophouse": 0.6, "*": 0},
       {"city": 1.2, "beach": 1.3, "mountain": 0.3, "*": 1}),
    _p("washer", "np", ["washer"], 0.06, {"apartment": 3, "condo": 2, **_NO_LAND, "*": 0.3}),
    _p("internet", "np", ["internet"], 0.06, {"apartment": 4, "condo": 1.5, "resort": 2,
       **_NO_LAND, "*": 0.2}),
    _p("solar", "np", ["solar"], 0.03, {"house": 3, "villa": 3, "resort": 2, "land": 0.5,
       "*": 0}, {"mountain": 2, "town": 1.5, "*": 1}),
    _p("study", "np", ["study"], 0.04, {"house": 2, "townhouse": 1.5, "villa": 1.5,
       "condo": 0.8, "penthouse": 2, "duplex": 1.5, "*": 0}),
    _p("storage", "np", ["storage"], 0.04, {"townhouse": 2, "house": 1.5, "condo": 1,
       "warehouse": 0.5, "*": 0}),
    _p("clubhouse", "np", ["clubhouse"], 0.05, {"house": 2, "townhouse": 2.2, "duplex": 2,
       "condo": 0.5, "*": 0}, {"suburb": 2.5, "town": 1.2, "*": 0.6}),
    _p("playground", "np", ["playground"], 0.04, {"house": 2, "townhouse": 2, "duplex": 2.2,
       "condo": 0.7, "*": 0}, {"suburb": 3, "town": 1.5, "*": 0.4}),
    _p("sala", "np", ["sala"], 0.04, {"villa": 2, "resort": 3, "house": 1.2, "land": 1.5,
       "*": 0}, {"mountain": 3, "beach": 1.2, "town": 1, "*": 0.3}),
    _p("fence", "np", ["fence"], 0.1, {"house": 2.5, "land": 3, "villa": 1.5,
       "townhouse": 0.8, "duplex": 1.5, "warehouse": 2, "resort": 1, "*": 0}),
    _p("deed", "np", ["deed"], 0.12, {"land": 5.5, "house": 0.8, "villa": 0.8, "resort": 2,
       "shophouse": 0.6, "warehouse": 1, "*": 0}),
    _p("paved_road", "np", ["road", "paved"], 0.07, {"land": 4.5, "resort": 1,
       "warehouse": 1, "*": 0}, {"mountain": 1.3, "town": 1.2, "*": 1}),
    _p("electricity", "np", ["electricity"], 0.08, {"land": 5, "warehouse": 1, "*": 0}),
    _p("water", "np", ["water"], 0.06, {"land": 5, "*": 0}),
    _p("high_floor", "np", ["level", "high"], 0.05, {"condo": 3, "penthouse": 4,
       "apartment": 1, "*": 0}, {"city": 1.5, "*": 1}),
    _p("high_ceiling", "np", ["ceiling", "high"], 0.04, {"villa": 2, "house": 1.5,
       "penthouse": 2, "shophouse": 1.5, "warehouse": 3, "condo": 0.5, "*": 0}),
    _p("wooden_floor", "np", ["flooring", "wooden"], 0.04, {"house": 2, "villa": 2.5,
       "resort": 2, "townhouse": 1, "condo": 0.6, "*": 0}, {"mountain": 2.5, "*": 1}),
    _p("marble_floor", "np", ["flooring", "marble"], 0.03, {"villa": 2, "penthouse": 3,
       "condo": 1.2, "house": 1, "*": 0}, {"city": 1.5, "beach": 1.3, "*": 1}),
    _p("large_windows", "np", ["windows", "large"], 0.04, {"condo": 1.5, "penthouse": 2,
       "villa": 1.5, "house": 1, **_NO_LAND, "*": 0.3}),
    _p("bathtub", "np", ["bathtub"], 0.04, {"condo": 1.5, "penthouse": 2.5, "villa": 2,
       "house": 1, **_NO_LAND, "*": 0.3}),
    _p("closet", "np", ["closet"], 0.03, {"condo": 1.5, "penthouse": 3, "house": 1.2,
       "villa": 2, "*": 0}),
    _p("heater", "np", ["heater"], 0.05, {"condo": 1.5, "apartment": 2, "house": 1,
       **_NO_LAND, "*": 0.5}, {"mountain": 2.5, "*": 1}),
    _p("bbq", "np", ["bbq"], 0.03, {"villa": 3, "house": 1.5, "resort": 2, "condo": 0.3,
       "*": 0}, {"beach": 1.5, "mountain": 1.5, "*": 1}),
    _p("terrace", "np", ["terrace"], 0.04, {"villa": 2.5, "penthouse": 3, "house": 1,
       "resort": 1.5, "*": 0}),
    _p("laundry", "np", ["laundry"], 0.03, {"house": 1.5, "townhouse": 2, "apartment": 2,
       "condo": 0.5, "*": 0}),
    _p("library", "np", ["library"], 0.02, {"condo": 3, "house": 0.3, "*": 0}),
    _p("tennis_court", "np", ["court", "tennis"], 0.025, {"house": 1.5, "condo": 2,
       "villa": 1, "*": 0}, {"suburb": 2, "*": 1}),
    _p("basketball_court", "np", ["court", "basketball"], 0.015, {"house": 2,
       "townhouse": 2, "condo": 0.8, "*": 0}, {"suburb": 2.5, "town": 1.5, "*": 0.5}),
    _p("shuttle", "np", ["shuttle"], 0.04, {"condo": 3, "apartment": 2, "*": 0},
       {"city": 1.5, "suburb": 2, "*": 0.5}),
    _p("mezzanine", "np", ["mezzanine"], 0.05, {"shophouse": 6, "townhouse": 0.5,
       "warehouse": 1, "*": 0}),
    _p("office", "np", ["office"], 0.06, {"warehouse": 6, "shophouse": 2, "*": 0}),
    _p("transformer", "np", ["transformer"], 0.04, {"warehouse": 6, "land": 0.5, "*": 0}),
    _p("pond", "np", ["pond"], 0.03, {"land": 3, "resort": 2, "villa": 1, "house": 1, "*": 0},
       {"mountain": 3, "*": 1}),
    _p("shrine", "np", ["shrine"], 0.03, {"house": 2, "townhouse": 1.2, "duplex": 1.5, "*": 0},
       {"town": 1.5, "suburb": 1.2, "*": 1}),
    _p("attic", "np", ["attic"], 0.02, {"house": 2, "villa": 1.5, "*": 0},
       {"mountain": 1.5, "*": 1}),
    _p("lounge", "np", ["lounge"], 0.05, {"house": 1.8, "villa": 1.5, "townhouse": 1.2,
       "penthouse": 1.5, "resort": 1, "*": 0}),
)

NEARBY: tuple[Phrase, ...] = (
    _p("skytrain_station", "np", ["station", "skytrain"], 0.45, {"condo": 1.4,
       "apartment": 1.3, "penthouse": 1.3, "house": 0.4, "townhouse": 0.6, "land": 0.3, "*": 1},
       {"city": 1, "suburb": 0.25, "*": 0},
       {"bkk_sukhumvit": 1.6, "bkk_ari": 1.5, "bkk_silom": 1.1, "bkk_ratchada": 0.5,
        "bkk_bangna": 1.1}),
    _p("skytrain", "np", ["skytrain"], 0.12, {"condo": 1.2, "*": 1}, {"city": 1, "*": 0},
       {"bkk_sukhumvit": 1.8, "bkk_ari": 1.2, "bkk_silom": 1.2, "bkk_bangna": 1.5,
        "bkk_ratchada": 0.3}),
    _p("subway_station", "np", ["station", "subway"], 0.3, {"condo": 1.3, "apartment": 1.2,
       "*": 1}, {"city": 1, "*": 0},
       {"bkk_ratchada": 2.6, "bkk_silom": 1.4, "bkk_sukhumvit": 0.7, "bkk_ari": 0.2,
        "nonthaburi": 1.2}),
    _p("subway", "np", ["subway"], 0.08, {"*": 1}, {"*": 0},
       {"bkk_ratchada": 2, "bkk_silom": 1, "nonthaburi": 1.5}),
    _p("school", "np", ["school"], 0.12, {"house": 2.2, "townhouse": 2, "duplex": 2,
       "condo": 0.6, "*": 1}, {"suburb": 2.4, "town": 1.8, "*": 1}),
    _p("international_school", "np", ["school", "international"], 0.04, {"house": 2,
       "villa": 2, "condo": 0.8, "*": 0.5}, {"suburb": 1.5, "city": 1.2, "beach": 0.8, "*": 0.3},
       {"bkk_sukhumvit": 2.5, "bkk_bangna": 3, "phuket_kata": 2, "huahin": 1.5}),
    _p("university", "np", ["university"], 0.04, {"apartment": 6, "condo": 1.6, "*": 0.6},
       {"town": 3, "suburb": 1.5, "city": 1, "*": 0.3},
       {"rangsit": 6, "khonkaen": 4, "chiangmai": 6, "korat": 2}),
    _p("hospital", "np", ["hospital"], 0.1, {"*": 1}, {"city": 1.3, "town": 1.5, "*": 1}),
    _p("private_hospital", "np", ["hospital", "private_org"], 0.05, {"condo": 1.2, "*": 1},
       {"city": 1.5, "beach": 1, "*": 0.8},
       {"bkk_sukhumvit": 2.5, "phuket_patong": 2, "huahin": 1.5}),
    _p("international_hospital", "np", ["hospital", "international"], 0.015,
       {"condo": 1.5, "villa": 1.5, "*": 1}, {"city": 1, "beach": 1.5, "*": 0.2},
       {"bkk_sukhumvit": 3, "phuket_patong": 3, "samui": 2}),
    _p("mall", "np", ["mall"], 0.16, {"condo": 1.5, "apartment": 1.3, "*": 1},
       {"city": 2, "suburb": 1.5, "town": 1.5, "beach": 0.8, "*": 0.3},
       {"bkk_bangna": 3, "korat": 2.5}),
    _p("market", "np", ["market"], 0.12, {"townhouse": 1.6, "shophouse": 2, "apartment": 1.3,
       "*": 1}, {"town": 2, "suburb": 1.3, "*": 1}, {"hatyai": 3, "korat": 1.5, "rangsit": 1.5}),
    _p("fresh_market", "np", ["market", "fresh_food"], 0.04, {"townhouse": 2, "house": 1.5,
       "*": 1}, {"town": 1.5, "suburb": 2, "*": 0.5}),
    _p("night_market", "np", ["market", "night"], 0.04, {"*": 1},
       {"beach": 1.5, "mountain": 1.2, "town": 2, "*": 1},
       {"bkk_ratchada": 5, "huahin": 5, "chiangmai": 5}),
    _p("beach", "np", ["beach"], 0.6, {"villa": 1.3, "condo": 1.2, "resort": 1.3, "*": 1},
       {"beach": 1, "*": 0}, {"jomtien": 1.4, "chaam": 1.2}),
    _p("airport", "np", ["airport"], 0.03, {"*": 1}, {"beach": 1.5, "suburb": 0.8, "*": 0.5},
       {"phuket_patong": 4, "bkk_bangna": 4, "samui": 4, "chiangmai": 2.5, "hatyai": 3}),
    _p("temple", "np", ["temple"], 0.05, {"house": 1.3, "*": 1},
       {"mountain": 1.8, "town": 1.5, "*": 0.6}, {"chiangmai": 5}),
    _p("park", "np", ["park"], 0.05, {"condo": 1.4, "*": 1}, {"city": 1.3, "*": 0.6},
       {"bkk_silom": 5, "bkk_ari": 2}),
    _p("national_park", "np", ["reserve", "national"], 0.1, {"*": 1}, {"*": 0},
       {"khaoyai": 5, "mueaklek": 2.5, "maerim": 2}),
    _p("reserve", "np", ["reserve"], 0.08, {"*": 1}, {"mountain": 1, "*": 0},
       {"khaoyai": 2, "mueaklek": 1.5}),
    _p("golf_course", "np", ["course", "golf"], 0.03, {"villa": 2, "house": 1.5, "land": 1.2,
       "condo": 0.8, "*": 1}, {"beach": 1.4, "mountain": 1.5, "*": 0.6},
       {"huahin": 5, "khaoyai": 3, "chaam": 2.5}),
    _p("pier", "np", ["pier"], 0.05, {"*": 1}, {"beach": 0.5, "*": 0},
       {"samui": 8, "rayong": 3, "pattaya": 2}),
    _p("expressway", "np", ["expressway"], 0.06, {"*": 1}, {"city": 1.2, "suburb": 2, "*": 0.2},
       {"bkk_bangna": 4, "bkk_ratchada": 1.5}),
    _p("factories", "np", ["factories"], 0.02, {"warehouse": 10, "land": 3, "townhouse": 1.5,
       "apartment": 2, "*": 1}, {"suburb": 1.5, "town": 0.8, "*": 0.2},
       {"rayong": 10, "rangsit": 3, "bkk_bangna": 2}),
    _p("waterfall", "np", ["waterfall"], 0.05, {"*": 1}, {"*": 0},
       {"khaoyai": 4, "mueaklek": 5, "maerim": 4, "chiangmai": 1}),
    _p("cafe", "np", ["cafe"], 0.04, {"condo": 1.2, "*": 1}, {"city": 1, "mountain": 1.5,
       "*": 0.5}, {"bkk_ari": 5, "khaoyai": 4, "chiangmai": 3}),
    _p("restaurants", "np", ["restaurants"], 0.08, {"*": 1},
       {"city": 1.5, "beach": 1.6, "*": 0.7}),
    _p("waterpark", "np", ["waterpark"], 0.02, {"*": 1}, {"*": 0},
       {"huahin": 5, "jomtien": 5, "pattaya": 2}),
    _p("supermarket", "np", ["supermarket"], 0.06, {"condo": 1.2, "apartment": 1.2, "*": 1},
       {"beach": 1.2, "city": 1, "suburb": 1.3, "*": 0.6}),
    _p("bank", "np", ["bank"], 0.04, {"shophouse": 2, "*": 1}, {"town": 1.5, "*": 1}),
    _p("farm", "np", ["farm"], 0.03, {"land": 2, "resort": 2, "house": 1.2, "*": 1},
       {"mountain": 2.5, "*": 0.1}, {"mueaklek": 5, "maerim": 4, "khaoyai": 2}),
    _p("old_city", "np", ["city", "old"], 0.1, {"*": 1}, {"*": 0}, {"chiangmai": 3.5}),
    _p("lake", "np", ["lake"], 0.01, {"*": 1}, {"mountain": 1, "*": 0.3}, {"khonkaen": 15}),
    _p("river", "np", ["river"], 0.01, {"*": 1}, {"city": 1, "*": 0.3},
       {"nonthaburi": 12, "bkk_silom": 4}),
    _p("nature", "np", ["nature"], 0.06, {"house": 1.3, "villa": 1.3, "*": 1},
       {"mountain": 2, "suburb": 0.6, "beach": 0.8, "*": 0.2}),
)

CONTEXT: tuple[Phrase, ...] = (
    _p("many_tourists", "np", ["tourists", "many"], 0.3, {"resort": 1.5, "condo": 1.2, "*": 1},
       {"beach": 1, "mountain": 0.35, "city": 0.2, "*": 0.05},
       {"pattaya": 1.5, "phuket_patong": 1.6, "chiangmai": 0.8}),
    _p("tourists", "np", ["tourists"], 0.1, {"resort": 1.5, "*": 1},
       {"beach": 1, "mountain": 0.5, "city": 0.3, "*": 0.1}, {"huahin": 1.5, "chiangmai": 1.2}),
    _p("foreign_quota", "np", ["quota", "foreign"], 0.2, {"condo": 1.6, "penthouse": 1.6,
       "*": 0}, {"beach": 1, "city": 0.45, "mountain": 0.2, "*": 0.1}, deal="sale"),
    _p("thai_quota", "np", ["quota", "thai"], 0.05, {"condo": 1.6, "*": 0},
       {"beach": 1, "city": 0.7, "*": 0.3}, deal="sale"),
    _p("foreign_buyers", "for", ["buyers", "foreign"], 0.06, {"condo": 1.5, "villa": 2,
       "*": 0.2}, {"beach": 1.5, "mountain": 0.5, "city": 0.8, "*": 0.1}, deal="sale"),
    _p("rental_income", "np", ["income", "rental"], 0.07, {"condo": 1.5, "apartment": 2.5,
       "villa": 1.2, "resort": 2, "shophouse": 1.2, "*": 0.3},
       {"beach": 1.6, "city": 1.2, "*": 0.7}, {"phuket_patong": 3}, deal="sale"),
    _p("good_income", "np", ["income", "good"], 0.07, {"resort": 3, "apartment": 3,
       "shophouse": 1.5, "*": 0.3}, {"beach": 1.5, "*": 1}, deal="sale"),
    _p("rental_guarantee", "np", ["guarantee", "rental"], 0.06, {"condo": 2, "villa": 2,
       "*": 0}, {"beach": 2, "*": 0.5}, deal="sale"),
    _p("investment", "for", ["investment"], 0.15, {"land": 2, "condo": 1.5, "apartment": 1.5,
       "shophouse": 1.5, "resort": 1.5, "*": 0.5}, {"beach": 1.2, "*": 1}, deal="sale"),
    _p("avoid_traffic", "vp", ["avoid", "traffic"], 0.12, {"condo": 1.5, "apartment": 1.2,
       "*": 0.5}, {"city": 1, "*": 0.1}),
    _p("avoid_flooding", "vp", ["avoid", "flooding"], 0.03, {"house": 1.5, "townhouse": 1.5,
       "*": 1}, {"suburb": 1.5, "town": 1, "*": 0.2}),
    _p("no_flooding", "vp", ["no", "flooding"], 0.06, {"house": 1.5, "townhouse": 1.5,
       "duplex": 1.5, "land": 1.2, "*": 0.6}, {"suburb": 1.6, "town": 1.2, "*": 0.3},
       {"nonthaburi": 2, "rangsit": 2.5}),
    _p("working_people", "for", ["people", "working"], 0.18, {"condo": 1.4, "apartment": 1.6,
       "townhouse": 1, "*": 0.4}, {"city": 1, "suburb": 0.6, "town": 0.5, "*": 0.1},
       {"bkk_silom": 1.5}),
    _p("young_people", "for", ["people", "young"], 0.06, {"condo": 2, "apartment": 1.5,
       "townhouse": 1, "*": 0.3}, {"city": 1, "suburb": 1, "*": 0.5}, {"bkk_ari": 3}),
    _p("city_center", "in", ["center", "city"], 0.15, {"condo": 1.2, "shophouse": 1.5,
       "apartment": 1.1, "*": 0.7}, {"city": 1, "*": 0},
       {"bkk_silom": 2.5, "bkk_sukhumvit": 2, "chiangmai": 0.5}),
    _p("town_center", "in", ["center", "town"], 0.15, {"shophouse": 2, "condo": 1.2,
       "*": 0.8}, {"town": 1, "*": 0}, {"hatyai": 1.5}),
    _p("cool_weather", "np", ["weather", "cool"], 0.4, {"*": 1}, {"mountain": 1, "*": 0},
       {"chiangmai": 0.7, "maerim": 1.2}),
    _p("good_weather", "np", ["weather", "good"], 0.05, {"*": 1},
       {"beach": 1.5, "mountain": 1.5, "*": 0.5}),
    _p("fresh_air", "np", ["air", "fresh"], 0.28, {"house": 1.2, "land": 1.2, "resort": 1.3,
       "*": 1}, {"mountain": 1, "suburb": 0.1, "beach": 0.15, "*": 0}),
    _p("clean_air", "np", ["air", "clean"], 0.06, {"*": 1},
       {"mountain": 1, "beach": 0.8, "suburb": 0.3, "*": 0.1}),
    _p("surrounded_nature", "by", ["surrounded", "nature"], 0.25, {"villa": 1.3, "land": 1.5,
       "resort": 1.6, "condo": 0.5, "*": 1}, {"mountain": 1, "beach": 0.25, "suburb": 0.05,
       "*": 0}),
    _p("surrounded_mountains", "by", ["surrounded", "mountains"], 0.1, {"villa": 1.5,
       "land": 1.5, "resort": 1.5, "*": 1}, {"mountain": 1, "*": 0},
       {"khaoyai": 1.5, "mueaklek": 1.3, "maerim": 1.5}),
    _p("quiet_location", "np", ["location", "quiet"], 0.12, {"house": 1.5, "villa": 1.5,
       "land": 1.2, "*": 0.8}, {"suburb": 1.5, "mountain": 2, "beach": 0.8, "city": 0.4,
       "town": 1}),
    _p("good_location", "np", ["location", "good"], 0.14, {"*": 1}, {"city": 1.3, "town": 1.5,
       "*": 1}),
    _p("prime_location", "np", ["location", "prime"], 0.05, {"shophouse": 3, "land": 2,
       "condo": 1, "*": 0.5}, {"city": 2, "town": 1.5, "*": 0.6}),
    _p("mist", "np", ["mist"], 0.1, {"*": 1}, {"mountain": 1, "*": 0},
       {"maerim": 2.5, "khaoyai": 1.5, "chiangmai": 0.5}),
    _p("families", "for", ["families"], 0.2, {"house": 2, "townhouse": 1.8, "duplex": 2,
       "villa": 1, "condo": 0.35, "*": 0.2}, {"suburb": 1.6, "town": 1.3, "*": 0.8}),
    _p("students", "for", ["students"], 0.1, {"apartment": 3, "condo": 1, "*": 0.1},
       {"town": 1.5, "*": 1}, {"rangsit": 5, "khonkaen": 4, "chiangmai": 3}),
    _p("retirement", "for", ["retirement"], 0.05, {"villa": 2, "house": 2, "condo": 1,
       "*": 0.3}, {"beach": 2, "mountain": 2, "*": 0.4},
       {"huahin": 6, "jomtien": 3, "chiangmai": 3}),
    _p("business", "for", ["business"], 0.1, {"shophouse": 6, "land": 1.5, "warehouse": 3,
       "*": 0.1}, {"town": 1.8, "city": 1.2, "*": 1}, {"hatyai": 2.5}),
    _p("holiday", "for", ["holiday"], 0.1, {"villa": 2.5, "resort": 2.5, "condo": 1.2,
       "house": 1.2, "*": 0.3}, {"beach": 2, "mountain": 2, "*": 0.2}),
    _p("expats", "for", ["expats"], 0.06, {"condo": 1.5, "house": 1, "villa": 1.4, "*": 0.4},
       {"city": 1.2, "beach": 1.5, "mountain": 0.8, "*": 0.2},
       {"bkk_sukhumvit": 3, "chiangmai": 2}),
    _p("in_village", "in", ["village"], 0.18, {"house": 2.5, "townhouse": 2.4, "duplex": 2.5,
       "*": 0}, {"suburb": 1.3, "town": 1.2, "*": 0.8}),
    _p("quiet_village", "in", ["village", "quiet"], 0.05, {"house": 2.5, "townhouse": 2,
       "duplex": 2.5, "villa": 1, "*": 0}, {"suburb": 1.5, "mountain": 2, "*": 0.8}),
    _p("pro_management", "np", ["management", "professional"], 0.08, {"condo": 2.5,
       "apartment": 1, "penthouse": 1.5, "*": 0}, {"city": 1.3, "*": 1}),
    _p("good_management", "np", ["management", "good"], 0.05, {"condo": 2, "townhouse": 0.8,
       "house": 0.6, "*": 0}, {"suburb": 1.3, "*": 1}),
    _p("main_road", "next", ["road", "main"], 0.05, {"land": 3.5, "shophouse": 3,
       "warehouse": 3, "*": 0.3}, {"town": 1.5, "*": 1}),
    _p("beachfront", "next", ["beach"], 0.1, {"villa": 1.5, "condo": 1.2, "land": 1.5,
       "resort": 2, "*": 0.5}, {"beach": 1, "*": 0}),
    _p("sea_breeze", "np", ["breeze", "sea"], 0.15, {"*": 1}, {"beach": 1, "*": 0}),
    _p("cool_breeze", "np", ["breeze", "cool"], 0.06, {"*": 1},
       {"mountain": 1, "beach": 0.4, "*": 0}),
    _p("beautiful_sunset", "np", ["sunset", "beautiful"], 0.06, {"villa": 1.5, "condo": 1.2,
       "*": 1}, {"beach": 1, "mountain": 0.3, "*": 0},
       {"phuket_kata": 3, "huahin": 1.5, "samui": 1.5}),
    _p("sunset", "np", ["sunset"], 0.03, {"*": 1}, {"beach": 1, "*": 0},
       {"phuket_kata": 3, "samui": 2}),
    _p("many_restaurants", "np", ["restaurants", "many"], 0.08, {"*": 1},
       {"city": 1.5, "beach": 1.5, "*": 0.5}),
    _p("nightlife", "np", ["nightlife"], 0.05, {"condo": 1.3, "*": 1},
       {"beach": 1, "city": 1, "*": 0.1},
       {"pattaya": 5, "phuket_patong": 5, "bkk_sukhumvit": 2}),
    _p("diving", "np", ["diving"], 0.03, {"*": 1}, {"beach": 1, "*": 0},
       {"samui": 5, "phuket_kata": 4}),
    _p("hiking", "np", ["hiking"], 0.05, {"*": 1}, {"mountain": 1, "*": 0},
       {"khaoyai": 3, "maerim": 1.5}),
    _p("free_transfer", "vp", ["free", "transfer"], 0.06, {"condo": 1.5, "house": 1.5,
       "townhouse": 1.8, "duplex": 1.5, **_NO_LAND, "*": 0.3}, {"suburb": 1.4, "*": 1},
       deal="sale"),
    _p("free_furniture", "vp", ["free", "furniture"], 0.04, {"condo": 2, "house": 1,
       "townhouse": 1.5, **_NO_LAND, "*": 0.2}, {"suburb": 1.2, "*": 1}, deal="sale"),
    _p("special_discount", "np", ["discount", "special"], 0.05, {"*": 1}, deal="sale"),
    _p("discount", "np", ["discount"], 0.03, {"condo": 1.5, "*": 1}),
    _p("special_price", "np", ["price", "special"], 0.04, {"*": 1}),
    _p("price_negotiable", "vp", ["price", "negotiable"], 0.12, {"land": 1.5, "*": 1},
       {"town": 1.3, "*": 1}),
    _p("deposit", "num", ["deposit", "months"], 0.3, {"*": 1}, deal="rent", nums=(1, 2, 2, 3)),
    _p("contract_years", "num", ["contract", "year"], 0.15, {"*": 1}, deal="rent",
       nums=(1, 1, 2, 3)),
    _p("contract_months", "num", ["contract", "months"], 0.15, {"condo": 1.5, "*": 1},
       deal="rent", nums=(6, 12)),
)
CATEGORIES = {"features": FEATURES, "nearby": NEARBY, "context": CONTEXT}
CAPS = {"features": 5, "nearby": 3, "context": 3}
"""At most this many phrases of each set per listing."""

for _cat, _phrases in CATEGORIES.items():
    assert len({p.key for p in _phrases}) == len(_phrases), f"duplicate keys in {_cat}"
    for _ph in _phrases:
        assert all(w in WORDS for w in _ph.words), _ph.key
        assert (_ph.frame == "num") == bool(_ph.nums), _ph.key

# Property types: mix per kind of area, share of rentals, bedrooms, storeys.
TYPE_MIX = {  # kind -> weight of each type (order of TYPES)
    "city": dict(condo=50, house=6, townhouse=8, villa=0, land=2, apartment=12, shophouse=8,
                 duplex=2, penthouse=5, warehouse=1, resort=0),
    "suburb": dict(condo=12, house=30, townhouse=22, villa=1, land=8, apartment=5, shophouse=6,
                   duplex=10, penthouse=0, warehouse=6, resort=0),
    "beach": dict(condo=38, house=12, townhouse=4, villa=20, land=10, apartment=5, shophouse=3,
                  duplex=0, penthouse=2, warehouse=0, resort=6),
    "mountain": dict(condo=8, house=25, townhouse=3, villa=15, land=30, apartment=2,
                     shophouse=2, duplex=0, penthouse=0, warehouse=0, resort=15),
    "town": dict(condo=12, house=28, townhouse=18, villa=0, land=12, apartment=8, shophouse=12,
                 duplex=6, penthouse=0, warehouse=4, resort=0),
}
RENT_SHARE = dict(condo=0.4, house=0.25, townhouse=0.25, villa=0.35, land=0.05, apartment=0.85,
                  shophouse=0.35, duplex=0.2, penthouse=0.3, warehouse=0.5, resort=0.1)
BEDROOMS = {  # type -> (values, probabilities); 0 = none said
    "condo": ((1, 2, 3), (0.5, 0.35, 0.15)), "apartment": ((1, 2), (0.8, 0.2)),
    "penthouse": ((2, 3, 4), (0.3, 0.45, 0.25)), "house": ((2, 3, 4, 5), (0.15, 0.45, 0.3, 0.1)),
    "townhouse": ((2, 3, 4), (0.35, 0.5, 0.15)), "duplex": ((3, 4), (0.7, 0.3)),
    "villa": ((2, 3, 4, 5, 6), (0.15, 0.3, 0.3, 0.15, 0.1)),
    "shophouse": ((0, 2, 3, 4), (0.3, 0.3, 0.3, 0.1)), "land": ((0,), (1.0,)),
    "warehouse": ((0,), (1.0,)), "resort": ((6, 8, 10, 12, 16, 20), (0.2, 0.2, 0.2, 0.15, 0.15,
                                                                       0.1)),
}
STOREYS = {  # type -> (values, probabilities, share of listings that say it)
    "house": ((1, 2, 3), (0.3, 0.6, 0.1), 0.6), "townhouse": ((2, 3, 4), (0.5, 0.4, 0.1), 0.7),
    "duplex": ((2,), (1.0,), 0.6), "villa": ((1, 2), (0.6, 0.4), 0.5),
    "shophouse": ((2, 3, 4, 5), (0.2, 0.4, 0.3, 0.1), 0.7),
}
FLOOR_TYPES = {"condo": (2, 40, 0.4), "apartment": (2, 8, 0.3), "penthouse": (25, 50, 0.6)}
"""Types whose floor is said: (lowest, highest, share of listings that say it)."""
PRICE_PER_SQM = {"city": 120_000, "suburb": 45_000, "beach": 80_000, "mountain": 40_000,
                 "town": 35_000}
TYPE_PRICE = dict(condo=1.0, apartment=0.6, penthouse=1.6, house=0.9, townhouse=0.75,
                  duplex=0.8, villa=1.3, shophouse=0.9, warehouse=0.25, resort=1.0, land=1.0)
PRICE_PER_RAI = {"city": 40e6, "suburb": 8e6, "beach": 12e6, "mountain": 3e6, "town": 2.5e6}
AREA_TYPES = {  # area -> multipliers of its kind's type mix (each place has its own mix)
    "bkk_ari": {"apartment": 2}, "bkk_silom": {"condo": 1.3, "shophouse": 2},
    "bkk_ratchada": {"apartment": 1.5, "townhouse": 1.5}, "nonthaburi": {"townhouse": 1.5},
    "rangsit": {"apartment": 2, "warehouse": 2}, "bkk_bangna": {"warehouse": 2, "house": 1.3},
    "jomtien": {"condo": 1.4}, "pattaya": {"condo": 1.3, "shophouse": 2},
    "huahin": {"villa": 1.5}, "chaam": {"house": 1.5}, "phuket_kata": {"villa": 1.8},
    "phuket_patong": {"condo": 1.5, "apartment": 2},
    "samui": {"villa": 2, "resort": 2, "land": 1.5},
    "rayong": {"land": 2, "townhouse": 2}, "khaoyai": {"resort": 1.5, "villa": 1.5},
    "mueaklek": {"land": 1.8}, "chiangmai": {"condo": 2.5, "house": 1.3},
    "maerim": {"resort": 1.5, "land": 1.3}, "korat": {"shophouse": 1.5},
    "khonkaen": {"condo": 1.5}, "hatyai": {"shophouse": 2},
}
_TYPE_CUM = np.array([np.cumsum(w) / np.sum(w) for w in (
    [TYPE_MIX[KIND[ak]][t] * AREA_TYPES.get(ak, {}).get(t, 1.0) for t in TYPES]
    for ak in AREA_KEYS)])
"""(n_areas, n_types) cumulative type mix of each area."""
AREA_SHARE = np.array([a[6] * (1 + 0.04 * i) for i, a in enumerate(AREAS)], float)
AREA_SHARE /= AREA_SHARE.sum()
"""Share of listings in each area: listings.py's weights, spread so that no two are equal."""


@dataclass(frozen=True)
class Listing:
    """What one listing says, before it is written in a language."""

    deal: str  # "sale" or "rent"
    ptype: str  # a key of TYPE_WORDS
    area: str  # a key of listings.AREAS
    kind: str  # the area's kind: city, suburb, beach, mountain or town
    region: str | None  # a province written after the area (bangkok, phuket, ...) or None
    bedrooms: int  # bedrooms (guest rooms of a resort); 0 = none said
    bathrooms: int  # 0 = none said
    size: int  # floor area in sqm, or the plot in rai / square wah (see size_unit)
    size_unit: str  # "sqm", "rai" or "wah"
    land_wah: int  # plot of a house in square wah; 0 = not said
    floor: int  # condo floor or storeys of a house; 0 = not said
    condition: str | None  # "new", "renovated", "newly_renovated", "good", "resale" or None
    furnishing: str | None  # "full", "partly", "none" or None (not said)
    band: str | None  # price band said in the title: "luxury", "cheap" or None
    price: int  # baht (sale) or baht per month (rent); 0 = not said
    features: tuple[tuple[str, int], ...]  # (FEATURES key, number of a num phrase or 0)
    nearby: tuple[tuple[str, int, bool], ...]  # (NEARBY key, minutes or 0, on foot)
    context: tuple[tuple[str, int], ...]  # (CONTEXT key, number or 0)
    seller: str  # "owner" or "agent"
    urgent: bool


def _probabilities(phrases: tuple[Phrase, ...]) -> np.ndarray:
    """(n_types, n_areas, 2 deals, n_phrases) probability that a listing says each phrase."""
    P = np.zeros((len(TYPES), len(AREA_KEYS), 2, len(phrases)))
    for j, ph in enumerate(phrases):
        for t, ty in enumerate(TYPES):
            pt = ph.types.get(ty, ph.types.get("*", 1.0))
            for a, ak in enumerate(AREA_KEYS):
                pa = ph.areas[ak] if ak in ph.areas else ph.kinds.get(KIND[ak],
                                                                      ph.kinds.get("*", 1.0))
                for d, deal in enumerate(("sale", "rent")):
                    if ph.deal is None or ph.deal == deal:
                        P[t, a, d, j] = min(0.95, ph.base * pt * pa)
    return P


_PROBS = {cat: _probabilities(ph) for cat, ph in CATEGORIES.items()}


def _choose(values, probs, u: float):
    """The value at quantile ``u`` of a small discrete distribution."""
    c = 0.0
    for v, p in zip(values, probs):
        c += p
        if u < c:
            return v
    return values[-1]


def _pick_phrases(rng: np.random.Generator, cat: str, t: np.ndarray, a: np.ndarray,
                  d: np.ndarray) -> list[list[tuple[str, int]]]:
    """Each listing's phrases of one set: independent draws, then in random order, at most
    CAPS[cat] of them and no two sharing a word (one pool, one kind of view, ...)."""
    phrases = CATEGORIES[cat]
    P = _PROBS[cat][t, a, d]  # (n, m)
    hit = rng.random(P.shape) < P
    order = rng.random(P.shape)
    num_u = rng.random(P.shape)
    out: list[list[tuple[str, int]]] = []
    for i in range(len(t)):
        idx = np.flatnonzero(hit[i])
        idx = idx[np.argsort(order[i, idx])]
        used: set[str] = set()
        chosen: list[tuple[str, int]] = []
        for j in idx:
            ph = phrases[j]
            if used.intersection(ph.words):
                continue
            used.update(ph.words)
            num = ph.nums[int(num_u[i, j] * len(ph.nums))] if ph.nums else 0
            chosen.append((ph.key, num))
            if len(chosen) == CAPS[cat]:
                break
        out.append(chosen)
    return out


def sample_listings(n: int, seed: int) -> list[Listing]:
    """``n`` listings drawn from the generative process of the module notes: a pure function of
    ``(n, seed)`` (draws are vectorised over the listings, so another ``n`` gives other
    listings, not a prefix)."""
    if not 1 <= n <= MAX_LISTINGS:
        raise ValueError(f"n must be between 1 and {MAX_LISTINGS:,}")
    rng = np.random.default_rng([int(seed), 0xB111])
    area = rng.choice(len(AREA_KEYS), size=n, p=AREA_SHARE)
    u_type = rng.random(n)
    ptype = np.minimum((u_type[:, None] >= _TYPE_CUM[area]).sum(1), len(TYPES) - 1)
    rent_p = np.array([RENT_SHARE[TYPES[t]] for t in ptype])
    rent_p *= np.array([1.2 if KIND[AREA_KEYS[a]] == "beach" else 1.0 for a in area])
    deal = (rng.random(n) < rent_p).astype(np.int64)
    picks = {cat: _pick_phrases(rng, cat, ptype, area, deal) for cat in CATEGORIES}
    U = rng.random((n, 16))
    noise = rng.normal(0.0, 0.2, n)
    minutes_u = rng.random((n, CAPS["nearby"], 3))

    listings = []
    for i in range(n):
        ty, ak = TYPES[ptype[i]], AREA_KEYS[area[i]]
        kind, u = KIND[ak], U[i]
        is_rent = bool(deal[i])
        beds = _choose(*BEDROOMS[ty], u[0])
        baths = 0
        if beds and ty != "resort" and u[13] < 0.8:  # bathrooms are said in 80% of listings
            baths = max(1, beds - (1 if u[1] < 0.45 else 0) - (1 if ty == "shophouse" else 0))
        if ty == "resort" and u[13] < 0.3:  # a resort's rooms are said in 70%
            beds = 0
        floor = 0
        if ty in STOREYS:
            vals, probs, said = STOREYS[ty]
            floor = _choose(vals, probs, u[2] / said) if u[2] < said else 0
        elif ty in FLOOR_TYPES:
            lo, hi, said = FLOOR_TYPES[ty]
            floor = lo + int(u[2] / said * (hi - lo + 1)) if u[2] < said else 0
        # size
        land_wah, unit = 0, "sqm"
        if ty == "land":
            if kind in ("city", "suburb") or u[3] < 0.3:
                unit, size = "wah", int(50 + u[4] ** 2 * 350)
            else:
                unit, size = "rai", int(1 + u[4] ** 2 * 30)
        elif ty == "resort":
            unit, size = "rai", int(2 + u[4] * 18)
        elif ty == "warehouse":
            size = int(round(300 + u[4] ** 2 * 1700, -1))
        else:
            base = {"condo": 24 + 28 * (beds - 1), "apartment": 22 + 18 * (beds - 1),
                    "penthouse": 120 + 60 * (beds - 2), "house": 90 + 45 * beds,
                    "townhouse": 70 + 30 * beds, "duplex": 90 + 35 * beds,
                    "villa": 120 + 70 * beds, "shophouse": 100 + 30 * max(beds, 2)}[ty]
            size = max(20, int(base * (0.85 + 0.3 * u[4])))
            if ty in ("house", "townhouse", "duplex", "villa") and u[5] < 0.45:
                lo, hi = {"house": (50, 120), "townhouse": (16, 30), "duplex": (35, 60),
                          "villa": (80, 400)}[ty]
                land_wah = int(lo + u[6] * (hi - lo))
        # price band, then price
        lux = {"villa": 0.35, "penthouse": 0.5, "condo": 0.12 if kind == "city" else 0.06,
               "house": 0.08, "resort": 0.2}.get(ty, 0.0)
        cheap = {"suburb": 0.12, "town": 0.15}.get(kind, 0.05)
        cheap *= 1.6 if ty in ("apartment", "townhouse") else 0.0 if ty == "penthouse" else 1.0
        band = "luxury" if u[7] < lux else "cheap" if u[7] > 1 - cheap else None
        factor = {"luxury": 2.0, "cheap": 0.65, None: 1.0}[band] * float(np.exp(noise[i]))
        if unit == "sqm":
            value = size * PRICE_PER_SQM[kind] * TYPE_PRICE[ty] * factor
        else:
            rai = size if unit == "rai" else size / 400
            value = rai * PRICE_PER_RAI[kind] * factor * (2.5 if ty == "resort" else 1.0)
        if is_rent:
            price = max(3000, int(round(value * 0.0045, -3)))
        else:
            m = value / 1e6
            price = int(round(m * 10) * 100_000) if m < 10 else int(round(m) * 1_000_000)
            price = max(price, 300_000)
        if u[14] < 0.08:  # no price said
            price = 0
        # condition, furnishing, seller
        building = ty not in ("land",)
        cond = None
        if building:
            p_new = {"condo": 0.2, "house": 0.18, "townhouse": 0.2, "duplex": 0.2, "villa": 0.15,
                     "penthouse": 0.1}.get(ty, 0.05)
            p_ren = {"house": 0.12, "townhouse": 0.15, "shophouse": 0.2, "condo": 0.08,
                     "apartment": 0.15}.get(ty, 0.04)
            p_res = {"condo": 0.1, "house": 0.08}.get(ty, 0.03)
            cond = _choose(("new", "renovated", "newly_renovated", "good", "resale", None),
                           (p_new, 0.4 * p_ren, 0.6 * p_ren, 0.2, p_res, 1.0), u[8])
        furn = None
        if ty in ("condo", "apartment", "penthouse", "villa", "resort"):
            full = {"condo": 0.55, "apartment": 0.7, "penthouse": 0.7}.get(ty, 0.5)
            full = min(0.9, full * (1.3 if is_rent else 1.0))
            furn = _choose(("full", "partly", "none", None), (full, 0.2, 0.08, 1.0), u[9])
        elif ty in ("house", "townhouse", "duplex", "shophouse"):
            furn = _choose(("full", "partly", "none", None), (0.15, 0.2, 0.15, 1.0), u[9])
        seller = "owner" if u[10] < 0.45 else "agent"
        urgent = u[11] < (0.03 if is_rent else 0.12 if seller == "owner" else 0.06)
        region = REGION.get(ak) if u[12] < 0.5 else None
        nearby = []
        for k, (key, _num) in enumerate(picks["nearby"][i]):
            mu = minutes_u[i, k]
            minutes = int(2 + mu[1] * 19) if mu[0] < 0.35 else 0
            walk = bool(minutes and minutes <= 12 and mu[2] < 0.5)
            nearby.append((key, minutes, walk))
        listings.append(Listing(
            deal="rent" if is_rent else "sale", ptype=ty, area=ak, kind=kind, region=region,
            bedrooms=beds, bathrooms=baths, size=size, size_unit=unit, land_wah=land_wah,
            floor=floor, condition=cond, furnishing=furn, band=band, price=price,
            features=tuple(picks["features"][i]), nearby=tuple(nearby),
            context=tuple(picks["context"][i]), seller=seller, urgent=bool(urgent)))
    return listings


# -- how it is written -----------------------------------------------------------------------------

_N_U = 64  # random numbers one rendering draws (the same count in both languages)
_N_TEMPLATE_U = 16  # the first ones choose templates; the rest choose word forms
_PHRASE = {p.key: p for ph in CATEGORIES.values() for p in ph}


@lru_cache(maxsize=None)
def _forms(key: str, lang: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    entry = WORDS[key]
    forms, probs = (entry.en, entry.p_en) if lang == "en" else (entry.th, entry.p_th)
    return forms, tuple(np.cumsum(probs))


def _price_text(price: int, deal: str) -> str:
    """Sale prices in millions (one decimal under 10 million), rents in baht."""
    if deal == "rent":
        return str(price)
    m = price / 1e6
    return f"{m:.1f}" if m < 10 else str(int(round(m)))


class _Writer:
    """Writes one listing in one language from a vector of uniforms."""

    def __init__(self, lang: str, u: np.ndarray):
        self.lang, self.u, self.k = lang, u, _N_TEMPLATE_U
        self.out: list[str] = []

    def word(self, key: str, form: str | None = None) -> None:
        """Write a word; ``form`` names an English form (bedroom / bedrooms), else one is drawn."""
        forms, cum = _forms(key, self.lang)
        if form is not None and self.lang == "en":
            self.out.append(form)
            return
        if len(forms) == 1:
            self.out.append(forms[0])
            return
        r = self.u[self.k]
        self.k = _N_TEMPLATE_U + (self.k + 1 - _N_TEMPLATE_U) % (_N_U - _N_TEMPLATE_U)
        for f, c in zip(forms, cum):
            if r < c:
                self.out.append(f)
                return
        self.out.append(forms[-1])

    def raw(self, *tokens: str) -> None:
        self.out.extend(tokens)

    def np(self, head: str, mod: str | None = None) -> None:
        """A noun phrase: English modifier-head, Thai head-modifier."""
        if mod is None:
            self.word(head)
        elif self.lang == "en":
            self.word(mod), self.word(head)
        else:
            self.word(head), self.word(mod)

    def phrase(self, key: str, num: int, article: bool) -> None:
        ph = _PHRASE[key]
        w, en = ph.words, self.lang == "en"
        if ph.frame == "np":
            self.np(*w)
        elif ph.frame == "vp":
            self.word(w[0]), self.word(w[1])
        elif ph.frame == "by":
            self.word(w[0])
            if en:
                self.raw("by")
            self.word(w[1])
        elif ph.frame == "for":
            self.word("ideal"), self.word("for"), self.np(*w)
        elif ph.frame == "in":
            self.word("in")
            if en and article:
                self.raw("the")
            self.np(*w)
        elif ph.frame == "next":
            self.word("next")
            if en:
                self.raw("to", "the") if article else self.raw("to")
            self.np(*w)
        elif ph.frame == "num":
            head, unit = w
            if en:
                self.raw(str(num)), self.word(unit), self.word(head)
            else:
                self.word(head), self.raw(str(num)), self.word(unit)
        else:  # pragma: no cover - the tables are checked at import
            raise ValueError(ph.frame)

    def listing_of(self, items, article: bool) -> None:
        """A list of phrases: "a, b and c" / "a b และ c"."""
        for i, (key, num) in enumerate(items):
            if i and i == len(items) - 1:
                self.word("and")
            self.phrase(key, num, article)


def render(listing: Listing, lang: str, rng: np.random.Generator) -> list[str]:
    """The tokens of ``listing`` written in ``lang`` ("en" or "th").

    Draws exactly ``_N_U`` uniforms from ``rng`` whatever the listing and the language, so two
    generators in the same state render a listing with corresponding templates in both
    languages (that is how :func:`parallel` gets reference translations)."""
    if lang not in LANGS:
        raise ValueError("lang must be 'en' or 'th'")
    u = rng.random(_N_U)
    L, en = listing, lang == "en"
    w = _Writer(lang, u)
    article = u[8] < 0.5  # English only: "near the beach" or "near beach"

    def title() -> None:
        def type_np() -> None:
            mods = []
            if L.band:
                mods.append(L.band)
            if L.condition in ("new", "resale"):
                mods.append(L.condition)
            if en:
                for m in mods:
                    w.word(m)
                if L.floor and L.ptype in STOREYS:
                    w.raw(str(L.floor)), w.word("storey")
                w.word(L.ptype)
            else:
                w.word(L.ptype)
                if L.floor and L.ptype in STOREYS:  # "บ้าน 2 ชั้น"
                    w.raw(str(L.floor)), w.word("storey")
                for m in reversed(mods):
                    w.word(m)

        def place() -> None:
            w.word(L.area)
            if L.region:
                w.word(L.region)

        def deal_words() -> None:
            if en:
                w.word("for"), w.word(L.deal)
                return
            if L.deal == "rent":
                w.raw(THAI_ONLY["give"])
            w.word(L.deal)
            if L.urgent:
                w.word("urgent")

        if en:
            if u[1] < 0.6:  # "urgent luxury villa for sale in huahin"
                if L.urgent:
                    w.word("urgent")
                type_np(), deal_words(), w.word("in"), place()
            else:  # "huahin urgent luxury villa for sale"
                place()
                if L.urgent:
                    w.word("urgent")
                type_np(), deal_words()
        else:
            if u[1] < 0.6:  # "ขาย ด่วน วิลล่า หรูหรา หัวหิน"
                deal_words(), type_np(), place()
            else:  # "หัวหิน ขาย ด่วน วิลล่า หรูหรา"
                place(), deal_words(), type_np()

    def details() -> None:
        classifier = u[2] < 0.35  # Thai "ห้องนอน 3 ห้อง"; English "3 bed 2 bath"
        if L.ptype == "resort":
            if not L.bedrooms:
                pass
            elif en:
                w.raw(str(L.bedrooms)), w.word("rooms")
            else:
                w.word("rooms"), w.raw(str(L.bedrooms), THAI_ONLY["cls_room"])
        elif L.bedrooms:
            for key, n, short in (("bedroom", L.bedrooms, "bed"),
                                  ("bathroom", L.bathrooms, "bath")):
                if not n:
                    continue
                if en:
                    w.raw(str(n)), w.word(key, short if classifier else
                                          (key + "s" if n > 1 else key))
                elif classifier:
                    w.word(key), w.raw(str(n), THAI_ONLY["cls_room"])
                else:
                    w.raw(str(n)), w.word(key)
        w.raw(str(L.size)), w.word(L.size_unit)
        if L.land_wah:
            if en:
                w.word("land", "land"), w.raw(str(L.land_wah)), w.word("wah")
            else:
                w.word("land"), w.raw(str(L.land_wah)), w.word("wah")
        if L.floor and L.ptype in FLOOR_TYPES:
            if u[4] < 0.5:
                w.word("on")
            w.word("level"), w.raw(str(L.floor))
        if L.condition == "renovated":
            w.word("renovated")
        elif L.condition == "newly_renovated":
            w.np("renovated", "newly")
        elif L.condition == "good":
            w.np("condition", "good")
        if L.furnishing == "full":
            w.np("furnished", "fully")
        elif L.furnishing == "partly":
            w.np("furnished", "partly")
        elif L.furnishing == "none":
            w.word("no"), w.word("furniture")

    def price() -> None:
        if not L.price:
            return
        p = _price_text(L.price, L.deal)
        v = int(u[5] * 3)
        if L.deal == "sale":
            if v == 0:
                w.word("price")
            elif v == 2:
                w.word("only")
            w.raw(p), w.word("million"), w.word("baht")
        elif v == 2:  # "25000 baht a month" / "เดือน ละ 25000 บาท"
            if en:
                w.raw(p), w.word("baht"), w.raw("a"), w.word("month")
            else:
                w.word("month"), w.raw(THAI_ONLY["each"], p), w.word("baht")
        else:
            if v == 0:
                w.word("rent_price")
            w.raw(p), w.word("baht"), w.word("per"), w.word("month")

    def features() -> None:
        if L.features:
            w.word("with" if u[6] < 0.75 else "featuring")
            w.listing_of(L.features, article)

    def nearby() -> None:
        plain = [(k, m, f) for k, m, f in L.nearby if not m]
        timed = [(k, m, f) for k, m, f in L.nearby if m]
        if plain:
            near_at = len(w.out)
            w.word("near")
            if en and w.out[near_at] == "close":
                w.raw("to")
            for i, (key, _m, _f) in enumerate(plain):
                if i and i == len(plain) - 1:
                    w.word("and")
                if en and article:
                    w.raw("the")
                w.phrase(key, 0, article)
        for key, m, on_foot in timed:
            if en:  # "5 minutes walk to the beach"
                w.raw(str(m)), w.word("minutes")
                if on_foot:
                    w.word("walk")
                w.word("to")
                if article:
                    w.raw("the")
            else:  # "เดิน 5 นาที ถึง ชายหาด"
                if on_foot:
                    w.word("walk")
                w.raw(str(m)), w.word("minutes"), w.word("to")
            w.phrase(key, 0, article)

    def context() -> None:
        for key, num in L.context:
            w.phrase(key, num, article)

    def closing() -> None:
        v = int(u[9] * 3)
        if v == 1:
            w.word("interested")
        w.word("call" if v == 2 else "contact")
        if en and article:
            w.raw("the")
        w.word(L.seller)

    order = int(u[0] * 3)
    parts = ((title, details, price, features, nearby, context, closing),
             (title, price, details, nearby, features, context, closing),
             (title, details, features, nearby, context, price, closing))[order]
    for part in parts:
        part()
    return w.out


def _check_n(n: int) -> None:
    if not 1 <= n <= MAX_LISTINGS:
        raise ValueError(f"n must be between 1 and {MAX_LISTINGS:,}")


def _render_all(listings: list[Listing], lang: str, seed: int) -> list[list[str]]:
    rng = np.random.default_rng([int(seed), 0x7E47])
    return [render(x, lang, rng) for x in listings]


def corpus(lang: str, n: int, seed: int | None = None) -> list[list[str]]:
    """A monolingual training corpus: ``n`` listings (token lists) in ``lang``. The default seed
    is :data:`TRAIN_SEEDS` ``[lang]``, so the English and Thai corpora describe different
    listings."""
    if lang not in LANGS:
        raise ValueError("lang must be 'en' or 'th'")
    _check_n(n)
    seed = TRAIN_SEEDS[lang] if seed is None else seed
    return _render_all(sample_listings(n, seed), lang, seed)


def parallel(n: int = 1000, seed: int = HELDOUT_SEED) -> list[tuple[list[str], list[str]]]:
    """The held-out test set: ``n`` listings of ``seed`` each written in both languages,
    as (Thai tokens, English tokens) pairs with corresponding templates."""
    _check_n(n)
    listings = sample_listings(n, seed)
    th = _render_all(listings, "th", seed)
    en = _render_all(listings, "en", seed)
    return list(zip(th, en))


# -- vocabulary and text ---------------------------------------------------------------------------


def _vocab() -> dict[str, tuple[str, ...]]:
    th = {f for e in WORDS.values() for f in e.th} | set(THAI_ONLY.values())
    en = {f for e in WORDS.values() for f in e.en} | set(ENGLISH_ONLY)
    return {"en": tuple(sorted(en)), "th": tuple(sorted(th))}


VOCAB: dict[str, tuple[str, ...]] = _vocab()
"""Every word the grammars can write, per language (numbers, written as digits, aside)."""
_TH_SET = frozenset(VOCAB["th"])

# How Thai is typed (to_text): a space before a word that starts a phrase (มี, ใกล้, ราคา, ...),
# and before a noun, type or place unless the word before binds it (ขาย คอนโด -> ขายคอนโด,
# มี สระว่ายน้ำ -> มีสระว่ายน้ำ); modifiers and units run on (สระว่ายน้ำส่วนตัว, ล้านบาท).
def _th(*keys: str) -> frozenset[str]:
    return frozenset(f for k in keys for f in WORDS[k].th)


_TH_STARTS = _th("and", "with", "featuring", "near", "price", "rent_price", "contact",
                 "interested", "ideal", "in", "next", "walk", "sale", "no", "on", "only",
                 "avoid", "free", "surrounded", "call") | {THAI_ONLY["give"]}
_TH_BINDS = (_TH_STARTS | _th("for", "to", "per", "rent")) - _th("price", "rent_price")
_TH_RUNS_ON = (_th(*MODIFIER_WORDS) | _th("new", "newly", "resale", "luxury", "cheap", "urgent",
                                          "fully", "partly", "baht", "per", "month", "for",
                                          "to", "rent")
               | {THAI_ONLY["cls_room"], THAI_ONLY["each"]}) - _TH_STARTS
_TH_MAX_RUN = 4


def _th_breaks(prev: str, tok: str) -> bool:
    """Whether a space goes between Thai words ``prev`` and ``tok`` (before the join check)."""
    if tok in _TH_STARTS:
        return True
    if tok in _TH_RUNS_ON:
        return False
    return prev not in _TH_BINDS


_THAI_RUN = re.compile(r"[\u0E01-\u0E3A\u0E40-\u0E4E]+")
_SCAN = re.compile(r"(?P<thai>[\u0E01-\u0E3A\u0E40-\u0E4E]+)"
                   r"|(?P<num>[0-9\u0E50-\u0E59]+(?:[.,][0-9\u0E50-\u0E59]+)*)"
                   r"|(?P<word>[^\W\d_]+)"
                   r"|(?P<other>\S)")


@lru_cache(maxsize=1)
def _trie():
    _thai_setup()
    from pythainlp.util import dict_trie

    return dict_trie(VOCAB["th"])


@lru_cache(maxsize=65_536)
def _thai_words(run: str) -> tuple[str, ...]:
    """newmm's words of a run of Thai letters with the vocabulary as dictionary; neighbouring
    pieces outside the vocabulary are one (unknown) token."""
    _thai_setup()
    from pythainlp.tokenize import word_tokenize

    out: list[str] = []
    unknown = False
    for piece in word_tokenize(run, engine="newmm", custom_dict=_trie(), keep_whitespace=False):
        if not piece:
            continue
        known = piece in _TH_SET
        if not known and unknown and out:
            out[-1] += piece
        else:
            out.append(piece)
        unknown = not known
    return tuple(out)


def _number(s: str) -> str:
    """Digits as ASCII; thousands separators dropped, a decimal point kept (3.5, 25,000 ->
    25000)."""
    s = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in s)
    if "," in s:
        s = s.replace(",", "")
    return s


@lru_cache(maxsize=65_536)
def _chunk(chunk: str, lang: str) -> tuple[str, ...]:
    out: list[str] = []
    for m in _SCAN.finditer(chunk):
        kind, s = m.lastgroup, m.group()
        if kind == "thai":
            out.extend(_thai_words(s) if lang == "th" else (s,))
        elif kind == "num":
            out.append(_number(s.rstrip(".,")))
        elif kind == "word":
            out.append(s.lower())
        elif not unicodedata.category(s).startswith("P"):
            out.append(s)  # symbols (฿, %, ...) are tokens; punctuation is not
    return tuple(out)


def tokenize(text: str, lang: str) -> list[str]:
    """The tokens of ``text``: English (and Latin words in Thai) lowercased and split at
    whitespace and punctuation, numbers kept whole (3.5), Thai runs cut by ``newmm`` with the
    Thai vocabulary as dictionary. Text outside the vocabulary comes out as tokens too (a run
    of unknown Thai is one token); punctuation is dropped."""
    if lang not in LANGS:
        raise ValueError("lang must be 'en' or 'th'")
    out: list[str] = []
    for chunk in str(text).split():
        out.extend(_chunk(chunk, lang))
    return out


@lru_cache(maxsize=65_536)
def _joins(words: tuple[str, ...]) -> bool:
    """Whether Thai words typed without spaces read back as the same words."""
    return _thai_words("".join(words)) == words


def to_text(tokens: list[str], lang: str) -> str:
    """Tokens as a listing is typed: English words with spaces; Thai words of a phrase run
    together (at most four, and only when they read back as the same words), a space between
    phrases (see ``_th_breaks``) and around numbers. Deterministic: the same tokens always give
    the same text."""
    if lang == "en":
        return " ".join(tokens)
    if lang != "th":
        raise ValueError("lang must be 'en' or 'th'")
    chunks: list[str] = []
    run: list[str] = []
    for tok in tokens:
        thai = bool(_THAI_RUN.fullmatch(tok))
        if run and (not thai or len(run) >= _TH_MAX_RUN or _th_breaks(run[-1], tok)
                    or not _joins(tuple(run) + (tok,))):
            chunks.append("".join(run))
            run = []
        if thai:
            run.append(tok)
        else:
            chunks.append(tok)
    if run:
        chunks.append("".join(run))
    return " ".join(chunks)
