"""A built-in corpus of property listings with a known answer, for the topic-map page.

No real listing corpus is available offline, so :func:`generate` writes one from an explicit
generative process: the LDA story of the lecture, with a Dirichlet prior that depends on where a
listing is, who built it and when it was posted.

For listing ``d``

1. draw an area ``a`` (real place coordinates: Bangkok, Pattaya, Hua Hin, Phuket, Khao Yai,
   Chiang Mai, ...) and a point in it (a project site of the area or a scattered house: a few
   km around the centre, denser near it, along the shore in beach towns, never in the sea of
   the shipped basemap, :mod:`unsup.data.basemap`), a property type from the area's type mix, a
   developer (developers work in a few regions each; the names are invented) and a date
   (2019-2024);
2. build the Dirichlet parameter ``alpha_d = (base + area boost + type boost + developer boost)
   * drift(date)``: coasts favour *sea view*, Khao Yai and Chiang Mai *nature*, central Bangkok
   *transit* and *luxury*; every developer has a favourite theme; some themes rise or fall over
   the years;
3. draw the theme mix ``theta_d ~ Dirichlet(alpha_d)`` and then, phrase by phrase, a theme
   ``z ~ theta_d`` and a phrase from that theme's phrase list ``beta_z``.

That is the default, ``difficulty="easy"``: themes use nearly disjoint words, so a topic model
recovers them almost exactly. ``difficulty="realistic"`` writes the same listings (same places,
types, developers, dates and theme mixes) the way real ones read: a shared background vocabulary
(rooms, size, price, "near", "new", agency boilerplate) carries a large share of each listing,
themes borrow phrases from related themes, word frequencies are Zipf-like and lengths vary
from a few words to a few hundred (see :func:`generate`).

Each theme is a weighted list of phrases written in Thai and in English (the same idea in both).
A Thai phrase is written without spaces inside it, phrases are separated by spaces or joined by
connectives (และ, พร้อม, ...) the way listings are written, so a tokenizer has real work to do.
The truth (each theme's word distribution, each listing's mix, each developer's favourite) comes
back with the listings, so a fitted model can be checked against it.

Everything is a pure function of ``(n, seed, lang, difficulty)``: the same call gives the same
corpus. Coordinates come from their own random stream (``[seed, 7, ...]``), so the texts of the
easy corpus are exactly those the shipped topic models were fitted on (tests check the
fingerprints on their cards).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_LISTINGS = 200_000

# -- themes -------------------------------------------------------------------------------------
# (key, Thai label, English label, phrases). A phrase is (Thai words, English words, weight);
# every Thai word is a single token for PyThaiNLP's newmm tokenizer (tests check this).
THEMES: list[tuple[str, str, str, list[tuple[tuple[str, ...], tuple[str, ...], float]]]] = [
    ("sea_view", "วิวทะเล", "Sea view", [
        (("วิว", "ทะเล"), ("sea", "view"), 6),
        (("มองเห็น", "ชายหาด"), ("overlooking", "beach"), 3),
        (("ทิวทัศน์", "ทะเล"), ("ocean", "panorama"), 2),
        (("ริม", "ชายหาด"), ("beachfront",), 2),
        (("หาด", "ทรายขาว"), ("white", "sand"), 1.5),
        (("พระอาทิตย์", "ตก"), ("sunset",), 1.5),
        (("ระเบียง", "วิว", "ทะเล"), ("balcony", "sea", "view"), 1.5),
        (("ชายทะเล",), ("seaside",), 2),
        (("คลื่น", "ลมทะเล"), ("waves", "breeze"), 1),
        (("คอนโด", "ติด", "ทะเล"), ("condo", "seafront"), 1.5),
    ]),
    ("nature", "ธรรมชาติ", "Nature & garden", [
        (("ธรรมชาติ",), ("nature",), 6),
        (("บรรยากาศ", "ร่มรื่น"), ("shady", "atmosphere"), 3),
        (("ท่ามกลาง", "ธรรมชาติ"), ("surrounded", "nature"), 2),
        (("สวน", "ต้นไม้"), ("garden", "trees"), 2.5),
        (("สัมผัส", "อากาศ", "บริสุทธิ์"), ("fresh", "air"), 2),
        (("วิว", "ภูเขา"), ("mountain", "view"), 2),
        (("เงียบสงบ",), ("peaceful",), 2),
        (("ทุ่งหญ้า",), ("meadow",), 1),
        (("ทะเลสาบ",), ("lake",), 1),
        (("ลม", "เย็นสบาย"), ("cool", "breeze"), 1),
    ]),
    ("luxury", "หรูหรา", "Luxury", [
        (("หรูหรา",), ("luxury",), 5),
        (("ระดับ", "พรีเมียม"), ("premium",), 3),
        (("เหนือ", "ระดับ"), ("exclusive",), 2.5),
        (("สไตล์", "ชีวิต"), ("lifestyle",), 2),
        (("วัสดุ", "คุณภาพ", "นำเข้า"), ("imported", "materials"), 1.5),
        (("หินอ่อน",), ("marble",), 1.5),
        (("เอกสิทธิ์",), ("prestige",), 1.5),
        (("วิลล่า",), ("villa",), 1.5),
        (("ตกแต่ง", "ดีไซน์", "แบรนด์", "เนม"), ("designer", "brand", "interior"), 1.5),
        (("ผู้บริหารระดับสูง",), ("executives",), 1),
    ]),
    ("spacious", "พื้นที่โปร่ง", "Spacious design", [
        (("พื้นที่", "ใช้สอย"), ("living", "space"), 5),
        (("ออกแบบ", "โล่ง", "โปร่ง"), ("open", "airy", "design"), 4),
        (("ห้อง", "กว้าง"), ("spacious", "rooms"), 3),
        (("เพดาน", "สูง"), ("high", "ceiling"), 2),
        (("หน้าต่าง", "บาน", "ใหญ่"), ("large", "windows"), 1.5),
        (("อากาศ", "ถ่ายเท"), ("ventilation",), 1.5),
        (("ฟังก์ชัน", "ลงตัว"), ("functional", "layout"), 1.5),
        (("ประโยชน์", "ใช้สอย"), ("usable", "area"), 1.5),
        (("โถง", "ชั้นลอย"), ("mezzanine",), 1),
    ]),
    ("transit", "ใกล้รถไฟฟ้า", "Transit & convenience", [
        (("ใกล้", "รถไฟฟ้า"), ("near", "skytrain"), 5),
        (("สถานี", "รถไฟฟ้า"), ("station",), 3),
        (("เดินทาง", "สะดวก"), ("convenient", "commute"), 3),
        (("ทางด่วน",), ("expressway",), 2),
        (("ห้างสรรพสินค้า",), ("shopping", "mall"), 2),
        (("ใจ", "กลางเมือง"), ("city", "center"), 2.5),
        (("ทางเดิน", "เชื่อม"), ("walkway", "link"), 1),
        (("นาที", "ถึง", "สถานี"), ("minutes", "station"), 1.5),
        (("ร้านอาหาร", "ตลาด"), ("restaurants", "market"), 1.5),
        (("สนามบิน",), ("airport",), 1),
    ]),
    ("investment", "ลงทุน", "Investment & rental yield", [
        (("ลงทุน",), ("investment",), 5),
        (("ผลตอบแทน",), ("yield",), 3),
        (("ปล่อย", "เช่า"), ("leasing",), 3),
        (("รายได้", "ค่าเช่า"), ("rental", "income"), 2.5),
        (("การันตี", "ผลตอบแทน"), ("guaranteed", "return"), 2),
        (("นักลงทุน",), ("investors",), 2),
        (("ทำเลทอง",), ("prime", "location"), 1.5),
        (("คุ้มค่า",), ("value",), 1.5),
        (("ราคา", "เติบโต"), ("capital", "growth"), 1.5),
        (("คืนทุน",), ("payback",), 1),
    ]),
    ("family", "ครอบครัว", "Family & schools", [
        (("ครอบครัว",), ("family",), 5),
        (("ใกล้", "โรงเรียน"), ("near", "schools"), 3),
        (("โรงเรียน", "นานาชาติ"), ("international", "school"), 2),
        (("สนามเด็กเล่น",), ("playground",), 2),
        (("ลูก", "เด็ก"), ("kids", "children"), 2),
        (("ชุมชน", "อบอุ่น"), ("warm", "community"), 2),
        (("โรงพยาบาล",), ("hospital",), 1.5),
        (("ผู้สูงอายุ",), ("elderly", "parents"), 1),
        (("สัตว์เลี้ยง",), ("pets",), 1),
        (("เพื่อนบ้าน",), ("neighbours",), 1),
    ]),
    ("facilities", "สิ่งอำนวยความสะดวก", "Pool & facilities", [
        (("สระว่ายน้ำ",), ("swimming", "pool"), 5),
        (("ฟิตเนส",), ("fitness",), 3),
        (("ส่วนกลาง",), ("facilities",), 3),
        (("สโมสร",), ("clubhouse",), 2),
        (("สปา",), ("spa", "sauna"), 1.5),
        (("ดาดฟ้า",), ("rooftop",), 1.5),
        (("ลู่", "วิ่ง", "จ็อกกิ้ง"), ("jogging", "track"), 1.5),
        (("ห้องสมุด",), ("library",), 1),
        (("คลับ", "เฮาส์"), ("lounge",), 1),
    ]),
    ("smart", "ปลอดภัยอัจฉริยะ", "Security & smart home", [
        (("รักษา", "ความปลอดภัย"), ("security",), 4),
        (("กล้องวงจรปิด",), ("cctv",), 3),
        (("สมาร์ท", "โฮม"), ("smart", "home"), 3),
        (("ระบบ", "อัจฉริยะ"), ("intelligent", "system"), 2),
        (("สแกน", "ลายนิ้วมือ"), ("fingerprint", "lock"), 1.5),
        (("ชาร์จ", "รถยนต์", "ไฟฟ้า"), ("ev", "charger"), 2),
        (("โซลาร์", "ประหยัด", "พลังงาน"), ("solar", "energy", "saving"), 2),
        (("ชั่วโมง", "ปลอดภัย"), ("hour", "guard"), 1.5),
    ]),
    ("promotion", "โปรโมชั่น", "New launch & promotion", [
        (("โครงการ", "ใหม่"), ("new", "project"), 5),
        (("โปรโมชั่น",), ("promotion",), 3),
        (("ส่วนลด",), ("discount",), 2.5),
        (("ฟรี", "ค่า", "โอน"), ("free", "transfer", "fee"), 2),
        (("ผ่อน", "ดาวน์"), ("installment", "plan"), 2),
        (("เปิด", "จอง"), ("booking", "open"), 1.5),
        (("ราคา", "พิเศษ"), ("special", "price"), 2),
        (("ฟรี", "เฟอร์นิเจอร์"), ("free", "furniture"), 1.5),
        (("ห้อง", "ตัวอย่าง"), ("show", "unit"), 1),
    ]),
]
THEME_KEYS = [t[0] for t in THEMES]
N_THEMES = len(THEMES)

# Drift: alpha_k is multiplied by exp(slope_k * (2 * year_fraction - 1)) over 2019..2024.
DRIFT = {"nature": 0.7, "smart": 0.9, "investment": -0.9, "transit": 0.3, "promotion": -0.4,
         "facilities": -0.2, "spacious": 0.35}

# -- property types -----------------------------------------------------------------------------
TYPES = [  # (Thai, English, leading words of a listing)
    ("บ้านเดี่ยว", "Detached house", ("บ้านเดี่ยว",), ("detached", "house")),
    ("บ้านแฝด", "Semi-detached house", ("บ้าน", "แฝด"), ("semi", "detached", "house")),
    ("ทาวน์เฮาส์", "Townhouse", ("ทาวน์เฮาส์",), ("townhouse",)),
    ("คอนโดมิเนียม", "Condominium", ("คอนโดมิเนียม",), ("condominium",)),
    ("อาคารพาณิชย์", "Commercial building", ("อาคาร", "พาณิชย์"), ("shophouse",)),
    ("ที่ดินเปล่า", "Vacant land", ("ที่ดิน", "เปล่า"), ("land", "plot")),
    ("ทาวน์โฮม", "Townhome", ("ทาวน์", "โฮม"), ("townhome",)),
]
TYPE_MIX = {  # area kind -> probabilities over TYPES (order above)
    "city": [0.04, 0.03, 0.08, 0.65, 0.12, 0.01, 0.07],
    "suburb": [0.32, 0.14, 0.16, 0.12, 0.06, 0.04, 0.16],
    "beach": [0.22, 0.04, 0.04, 0.52, 0.06, 0.08, 0.04],
    "nature": [0.42, 0.08, 0.04, 0.14, 0.03, 0.22, 0.07],
    "town": [0.30, 0.10, 0.14, 0.16, 0.12, 0.08, 0.10],
}
TYPE_BOOST = {  # type index -> {theme: added alpha}
    0: {"family": 0.5, "spacious": 0.4}, 1: {"family": 0.5}, 2: {"family": 0.3},
    3: {"facilities": 0.6, "transit": 0.2}, 4: {"investment": 0.6, "transit": 0.3},
    5: {"investment": 0.8}, 6: {"family": 0.3, "promotion": 0.3},
}

# -- areas: real coordinates (degrees), spread in km, share of listings --------------------------
# (key, Thai name, English name, lat, lon, spread_km, weight, kind, {theme: boost})
AREAS = [
    ("bkk_sukhumvit", "สุขุมวิท", "Sukhumvit, Bangkok", 13.7373, 100.5600, 2.5, 9, "city",
     {"transit": 1.6, "luxury": 1.0}),
    ("bkk_silom", "สีลม", "Silom, Bangkok", 13.7262, 100.5340, 2.0, 6, "city",
     {"transit": 1.6, "luxury": 0.9}),
    ("bkk_ratchada", "รัชดา", "Ratchada, Bangkok", 13.7650, 100.5740, 2.5, 6, "city",
     {"transit": 1.6, "investment": 0.5}),
    ("bkk_ari", "อารีย์", "Ari, Bangkok", 13.7797, 100.5446, 2.0, 4, "city",
     {"transit": 1.4, "luxury": 0.4}),
    ("bkk_bangna", "บางนา", "Bang Na", 13.6680, 100.6040, 5.0, 6, "suburb",
     {"family": 1.0, "transit": 0.4}),
    ("nonthaburi", "นนทบุรี", "Nonthaburi", 13.8620, 100.5140, 6.0, 6, "suburb",
     {"family": 1.1}),
    ("rangsit", "รังสิต", "Rangsit, Pathum Thani", 13.9860, 100.6160, 6.0, 4, "suburb",
     {"family": 1.0, "promotion": 0.4}),
    ("pattaya", "พัทยา", "Pattaya", 12.9276, 100.8771, 2.5, 7, "beach",
     {"sea_view": 2.2, "investment": 0.5}),
    ("jomtien", "จอมเทียน", "Jomtien", 12.8840, 100.8730, 2.0, 4, "beach",
     {"sea_view": 2.2}),
    ("huahin", "หัวหิน", "Hua Hin", 12.5684, 99.9577, 3.0, 6, "beach",
     {"sea_view": 2.2, "luxury": 0.3}),
    ("chaam", "ชะอำ", "Cha-am", 12.7990, 99.9670, 2.5, 3, "beach", {"sea_view": 2.0}),
    ("phuket_patong", "ป่าตอง", "Patong, Phuket", 7.8961, 98.2963, 2.0, 4, "beach",
     {"sea_view": 2.2, "investment": 0.6}),
    ("phuket_kata", "กะตะ", "Kata, Phuket", 7.8200, 98.2990, 2.0, 3, "beach",
     {"sea_view": 2.2, "luxury": 0.5}),
    ("samui", "เกาะสมุย", "Chaweng, Koh Samui", 9.5300, 100.0600, 2.5, 2, "beach",
     {"sea_view": 2.2, "luxury": 0.4}),
    ("rayong", "ระยอง", "Rayong", 12.6700, 101.2800, 4.0, 3, "beach", {"sea_view": 1.6}),
    ("khaoyai", "เขาใหญ่", "Khao Yai, Pak Chong", 14.5300, 101.3800, 8.0, 7, "nature",
     {"nature": 2.4}),
    ("mueaklek", "มวกเหล็ก", "Muak Lek", 14.6500, 101.2000, 5.0, 2, "nature",
     {"nature": 2.2}),
    ("chiangmai", "เชียงใหม่", "Chiang Mai", 18.7883, 98.9853, 5.0, 6, "nature",
     {"nature": 1.8, "spacious": 0.3}),
    ("maerim", "แม่ริม", "Mae Rim", 18.9130, 98.9440, 4.0, 2, "nature", {"nature": 2.4}),
    ("korat", "โคราช", "Nakhon Ratchasima", 14.9799, 102.0978, 5.0, 3, "town",
     {"family": 0.6, "promotion": 0.5}),
    ("khonkaen", "ขอนแก่น", "Khon Kaen", 16.4322, 102.8236, 5.0, 3, "town",
     {"family": 0.6, "promotion": 0.5}),
    ("hatyai", "หาดใหญ่", "Hat Yai", 7.0086, 100.4747, 4.0, 2, "town",
     {"investment": 0.5, "promotion": 0.4}),
]
AREA_KEYS = [a[0] for a in AREAS]

COAST_POINTS = np.array([  # points on the shoreline (lat, lon), for "how far from the sea"
    (12.9350, 100.8820), (12.8700, 100.8950), (12.5700, 99.9640), (12.7990, 99.9760),
    (7.8960, 98.2940), (7.8190, 98.2960), (9.5330, 100.0640), (12.6630, 101.2700),
    (13.1740, 100.9150), (8.0330, 98.8230), (7.2070, 100.5960), (13.5200, 100.4500),
    (11.8100, 99.8100), (10.4900, 99.1800), (12.6050, 102.1000), (7.9000, 98.4000),
])

# -- developers (invented) ----------------------------------------------------------------------
# (Thai name, English name, favourite theme, regions where it builds)
DEVELOPERS = [
    ("สยามฮอไรซัน", "Siam Horizon Estate", "luxury",
     ("bkk_sukhumvit", "bkk_silom", "huahin", "phuket_kata")),
    ("บ้านสบายดีเวลลอปเมนท์", "Baan Sabai Development", "family",
     ("nonthaburi", "rangsit", "bkk_bangna", "korat", "khonkaen")),
    ("นาคราแลนด์", "Nakara Land", "investment",
     ("pattaya", "phuket_patong", "bkk_ratchada", "hatyai")),
    ("เจ้าพระยาลิฟวิ่ง", "Chao Phraya Living", "transit",
     ("bkk_ratchada", "bkk_ari", "bkk_silom", "nonthaburi")),
    ("บลูลากูนพร็อพเพอร์ตี้", "Blue Lagoon Properties", "facilities",
     ("jomtien", "pattaya", "chaam", "rayong", "samui")),
    ("กรีนวัลเลย์โฮมส์", "Green Valley Homes", "nature",
     ("khaoyai", "mueaklek", "chiangmai", "maerim")),
    ("เออร์บานิสกรุ๊ป", "Urbanis Group", "smart",
     ("bkk_sukhumvit", "bkk_ari", "bkk_bangna", "khonkaen")),
    ("พรีมาเรสซิเดนซ์", "Prima Residences", "spacious",
     ("chiangmai", "korat", "bkk_bangna", "huahin")),
    ("ธนวัฒน์พร็อพเพอร์ตี้", "Thanawat Property", "promotion",
     ("rangsit", "korat", "khonkaen", "hatyai", "rayong")),
    ("อันดามันเพิร์ล", "Andaman Pearl Development", "sea_view",
     ("phuket_patong", "phuket_kata", "samui", "huahin")),
    ("ล้านนาเฮอริเทจ", "Lanna Heritage Homes", "spacious",
     ("chiangmai", "maerim", "khaoyai")),
    ("เกษมแอสเซท", "Kasem Asset", "family",
     ("nonthaburi", "bkk_bangna", "rangsit", "pattaya")),
]
DEV_BOOST = 1.6  # added to the favourite theme's alpha
BASE_ALPHA = 0.12  # every theme's alpha before boosts
PHRASES_PER_LISTING = 16  # mean (Poisson) phrases after the leading type words
START, END = np.datetime64("2019-01-01"), np.datetime64("2024-12-31")

# -- the "realistic" corpus (difficulty="realistic") -------------------------------------------
# Real listings spend much of their length on words every listing uses: rooms, size, price,
# contact, agency boilerplate. (Thai, English), most frequent first; word r is drawn with
# probability proportional to 1 / r**BACKGROUND_ZIPF. Every Thai word is one newmm token and no
# stopword (tests check). Several are also theme words (ใกล้/near, ใหม่/new, โครงการ/project,
# ราคา/price, พื้นที่/area, ระเบียง/balcony, ...), as in real listings.
BACKGROUND = [
    ("ขาย", "sale"), ("ห้องนอน", "bedrooms"), ("ราคา", "price"), ("ห้องน้ำ", "bathrooms"),
    ("ล้าน", "million"), ("ใกล้", "near"), ("ตารางเมตร", "sqm"), ("ใหม่", "new"),
    ("บาท", "baht"), ("ติดต่อ", "contact"), ("ชั้น", "floor"), ("สนใจ", "interested"),
    ("ทำเล", "location"), ("โครงการ", "project"), ("เฟอร์นิเจอร์", "furnished"),
    ("นายหน้า", "agent"), ("แอร์", "aircon"), ("ที่จอดรถ", "parking"), ("เจ้าของ", "owner"),
    ("ด่วน", "urgent"), ("สภาพ", "condition"), ("สวย", "beautiful"), ("ถนน", "road"),
    ("ซอย", "soi"), ("เช่า", "rent"), ("หมู่บ้าน", "village"), ("เนื้อที่", "plot"),
    ("ตารางวา", "wah"), ("ห้องครัว", "kitchen"), ("ระเบียง", "balcony"), ("เดือน", "month"),
    ("ตกแต่ง", "decorated"), ("ดี", "good"), ("พื้นที่", "area"), ("สัญญา", "contract"),
    ("มัดจำ", "deposit"), ("ส่วนกลาง", "common"), ("ยูนิต", "unit"), ("อาคาร", "building"),
    ("ลิฟต์", "lift"), ("ตึก", "tower"), ("เครื่องซักผ้า", "washing"), ("ตู้เย็น", "fridge"),
    ("ทีวี", "tv"), ("อินเทอร์เน็ต", "internet"), ("ไวไฟ", "wifi"), ("น้ำประปา", "water"),
    ("ไฟฟ้า", "electricity"), ("ธนาคาร", "bank"), ("สินเชื่อ", "loan"), ("โอน", "transfer"),
    ("นัด", "appointment"), ("ชม", "viewing"), ("โทร", "call"), ("ไลน์", "line"),
    ("บริษัท", "company"), ("รับประกัน", "warranty"), ("ปรับปรุง", "renovated"),
    ("ทิศ", "facing"), ("เหนือ", "north"), ("ห้องรับแขก", "lounge"), ("ห้องเก็บของ", "storage"),
    ("ห้องทำงาน", "study"), ("ตลาด", "market"), ("คุณภาพ", "quality"), ("มือสอง", "resale"),
    ("บ้าน", "house"), ("คอนโด", "condo"), ("ย่าน", "district"), ("ขนาด", "size"),
]
BACKGROUND_ZIPF = 1.0
NUMBERED = {  # background words written after a number; digits are not modelled
    "ห้องนอน": (1, 5), "ห้องน้ำ": (1, 4), "ชั้น": (1, 45), "ตารางเมตร": (22, 320),
    "ล้าน": (1, 40), "ตารางวา": (16, 220), "ซอย": (1, 120), "เดือน": (1, 12),
    "bedrooms": (1, 5), "bathrooms": (1, 4), "floor": (1, 45), "sqm": (22, 320),
    "million": (1, 40), "wah": (16, 220), "soi": (1, 120), "month": (1, 12)}
# Themes borrow phrases from related themes (a sea-view listing speaks of luxury and pools too):
# each theme's phrase distribution is (1 - BORROW) of its own, BORROW of its relatives' mean.
RELATED = {
    "sea_view": ("luxury", "facilities", "investment"), "nature": ("spacious", "family"),
    "luxury": ("sea_view", "facilities", "spacious"), "spacious": ("luxury", "family"),
    "transit": ("investment", "family"), "investment": ("promotion", "transit"),
    "family": ("nature", "smart", "spacious"), "facilities": ("luxury", "smart"),
    "smart": ("facilities", "family"), "promotion": ("investment", "transit"),
}
BORROW = 0.3
THEME_ZIPF = 1.1  # a theme's phrase r (by the easy weights' order) ∝ 1 / r**THEME_ZIPF
BACKGROUND_SHARE = (4.5, 5.5)  # Beta(a, b) of each listing's background share (mean 0.45)
LENGTH_MEDIAN, LENGTH_SIGMA = 16, 0.75  # slots per listing ~ lognormal (5-95%: ~5 to ~55)
MAX_SLOTS = 160

THAI_LINKS = ["และ", "พร้อม", "มี", "ด้วย", "โดย", "รวมถึง", "อีกทั้ง"]
EN_LINKS = ["with", "and", "the", "a", "plus", "featuring", "also", "for", "in"]


@dataclass
class Truth:
    """What the generator knows and a fitted model should find.

    ``topic_word``: (n_themes, n_words) each row a distribution over ``vocab`` (generator words,
    after expanding phrases); ``doc_theme``: (n, n_themes) each listing's drawn mix theta_d.
    In the realistic corpus a word of listing d is a background word (``background``) with
    probability ``doc_background[d]``, else a theme word as above; in the easy one both are None.
    """

    themes: list[str]
    labels: list[str]
    vocab: list[str]
    topic_word: np.ndarray
    doc_theme: np.ndarray
    developer_favourite: dict[str, str] = field(default_factory=dict)
    coast: np.ndarray = field(default_factory=lambda: COAST_POINTS.copy())
    difficulty: str = "easy"
    background: np.ndarray | None = None  # (n_words,) the shared background distribution
    doc_background: np.ndarray | None = None  # (n,) each listing's background share lambda_d


@dataclass
class Listings:
    """The generated table (columns id, text, lat, lon, type, developer, date, price, area) and
    its truth."""

    df: pd.DataFrame
    truth: Truth
    lang: str
    seed: int

    def fingerprint(self) -> str:
        return corpus_fingerprint(self.df["text"])


def corpus_fingerprint(texts) -> str:
    """A short hash of the texts, for checkpoint cards."""
    h = hashlib.sha256()
    for t in texts:
        h.update(str(t).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def _phrase_table(lang: str, p_english: float):
    """Per theme: phrase strings, their token lists and probabilities, and the true word
    distributions over the union vocabulary."""
    col = 1 if lang == "en" else 0
    vocab: dict[str, int] = {}
    themes = []
    for _key, _th, _en, phrases in THEMES:
        w = np.array([p[2] for p in phrases], float)
        w /= w.sum()
        forms = []
        for words_th, words_en, _ in phrases:
            if lang == "en":
                forms.append((words_en, None))
            else:
                forms.append((words_th, words_en if p_english > 0 else None))
        themes.append((w, forms))
        for words_th, words_en, _ in phrases:
            for word in (words_en if col else words_th):
                vocab.setdefault(word, len(vocab))
            if lang != "en" and p_english > 0:
                for word in words_en:
                    vocab.setdefault(word, len(vocab))
    beta = np.zeros((len(THEMES), len(vocab)))
    for k, (w, forms) in enumerate(themes):
        for pw, (main, alt) in zip(w, forms):
            q = 1.0 - p_english if alt is not None else 1.0
            for word in main:
                beta[k, vocab[word]] += pw * q
            if alt is not None:
                for word in alt:
                    beta[k, vocab[word]] += pw * p_english
        beta[k] /= beta[k].sum()
    return themes, list(vocab), beta


def _skip_old_points(rng: np.random.Generator, n: int) -> None:
    """Draw (and drop) what the first version drew for coordinates, so that every later draw of
    the main stream, and so the texts, prices and truth, stay as they were (the shipped topic
    models were fitted on those texts)."""
    rng.normal(0, 1, n)
    rng.uniform(0, 2 * np.pi, n)


SITE_SHARE = 0.7  # listings at a project site (a condo block, a village); the rest scattered
SITE_JITTER_KM = 0.12  # spread of listings around their site
BEACH_INLAND_KM = 0.35  # mean distance of beach-town sites from the shore (exponential)


def _offset(lat, lon, dn_km, de_km):
    """Points moved dn km north and de km east."""
    from unsup.data.basemap import KM_PER_DEG

    return lat + dn_km / KM_PER_DEG, lon + de_km / (KM_PER_DEG * np.cos(np.radians(lat)))


def _area_sites(seed: int, a: int) -> np.ndarray:
    """The project sites of area ``a`` (lat, lon), each on land: around the centre (a 2-D
    Gaussian of the area's spread) or, in a beach town, along the shore near the centre."""
    from unsup.data import basemap as bm

    key, _th, _en, lat0, lon0, spread, weight, kind, _b = AREAS[a]
    rng = np.random.default_rng([seed, 7, a])
    m = int(8 + 4 * weight)
    if kind == "beach":
        C = bm.coast_points()
        d = bm.distance_km(lat0, lon0, C[:, 0], C[:, 1])
        near = np.flatnonzero(d < 3 * spread)
        w = np.exp(-0.5 * (d[near] / spread) ** 2)
        pick = near[rng.choice(len(near), size=4 * m, p=w / w.sum())]
        la, lo, dn, de = C[pick].T
        inland = 0.05 + rng.exponential(BEACH_INLAND_KM, len(pick))
        along = rng.normal(0, 0.1, len(pick))  # off the 100 m coast grid
        # the shore's two normals; the land side is the one whose point 300 m away is on land
        la1, lo1 = _offset(la, lo, -de * 0.3, dn * 0.3)
        side = np.where(bm.on_land(la1, lo1), 1.0, -1.0)
        la, lo = _offset(la, lo, -de * inland * side + dn * along, dn * inland * side + de * along)
    else:
        g = rng.normal(0, 0.7 * spread, (4 * m, 2))
        la, lo = _offset(np.full(4 * m, lat0), np.full(4 * m, lon0), g[:, 0], g[:, 1])
    ok = bm.on_land(la, lo)
    sites = np.c_[la, lo][ok][:m]
    return sites if len(sites) else np.array([[lat0, lon0]])


def _coordinates(seed: int, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each listing's position, from its own random stream (``[seed, 7, ...]``).

    ``SITE_SHARE`` of the listings of an area sit at one of its project sites (sites differ in
    popularity, Zipf-like), ``SITE_JITTER_KM`` around it; the rest are single houses and plots
    scattered around the centre (a 2-D Gaussian of the area's spread), so a place is denser near
    its centre, beach towns are strung along their shore, and nothing lands in the sea.
    """
    from unsup.data import basemap as bm

    n = len(area)
    lat, lon = np.empty(n), np.empty(n)
    for a in range(len(AREAS)):
        rows = np.flatnonzero(area == a)
        if not len(rows):
            continue
        _k, _th, _en, lat0, lon0, spread, _w, _kind, _b = AREAS[a]
        sites = _area_sites(seed, a)
        rng = np.random.default_rng([seed, 7, a, 1])
        pop = 1.0 / np.arange(1, len(sites) + 1) ** 0.8
        pop = pop[rng.permutation(len(sites))]
        m = len(rows)
        la, lo = np.empty(m), np.empty(m)
        todo = np.arange(m)
        for _round in range(12):
            k = len(todo)
            at_site = rng.random(k) < SITE_SHARE
            s = rng.choice(len(sites), size=k, p=pop / pop.sum())
            j = rng.normal(0, 1, (k, 2))
            sd = np.where(at_site, SITE_JITTER_KM, spread)[:, None]
            base = np.where(at_site[:, None], sites[s], [[lat0, lon0]])
            la[todo], lo[todo] = _offset(base[:, 0], base[:, 1], j[:, 0] * sd[:, 0],
                                         j[:, 1] * sd[:, 0])
            todo = todo[~bm.on_land(la[todo], lo[todo])]
            if not len(todo):
                break
        if len(todo):  # still at sea after many draws: onto a site
            la[todo], lo[todo] = sites[s[:len(todo)], 0], sites[s[:len(todo)], 1]
        lat[rows], lon[rows] = la, lo
    return lat, lon


def _forms(words_th, words_en, lang: str, p_english: float):
    """(main words, alternative English words or None) of a phrase in this language."""
    if lang == "en":
        return (tuple(words_en), None)
    return (tuple(words_th), tuple(words_en) if p_english > 0 else None)


def _realistic_table(lang: str, p_english: float):
    """The realistic corpus's phrase lists (Zipf weights, borrowed phrases), the union vocabulary,
    the themes' true word distributions and the background's."""
    phrase_id: dict[tuple, int] = {}
    phrases: list[tuple] = []
    own = np.zeros((N_THEMES, sum(len(t[3]) for t in THEMES)))
    for k, (_key, _th, _en, ph) in enumerate(THEMES):
        order = np.argsort([-p[2] for p in ph], kind="stable")
        for r, o in enumerate(order):
            words_th, words_en, _w = ph[o]
            key = (words_th, words_en)
            if key not in phrase_id:
                phrase_id[key] = len(phrases)
                phrases.append(key)
            own[k, phrase_id[key]] += 1.0 / (r + 1) ** THEME_ZIPF
    own = own[:, :len(phrases)]
    own /= own.sum(1, keepdims=True)
    mix = np.empty_like(own)
    for k, key in enumerate(THEME_KEYS):
        rel = np.mean([own[THEME_KEYS.index(j)] for j in RELATED[key]], axis=0)
        mix[k] = (1 - BORROW) * own[k] + BORROW * rel
    forms_all = [_forms(th, en, lang, p_english) for th, en in phrases]
    themes = []
    for k in range(N_THEMES):
        support = np.flatnonzero(mix[k] > 0)
        themes.append((mix[k, support] / mix[k, support].sum(), [forms_all[i] for i in support]))
    bg_forms = [_forms((th,), (en,), lang, p_english) for th, en in BACKGROUND]
    bg_w = 1.0 / np.arange(1, len(BACKGROUND) + 1) ** BACKGROUND_ZIPF
    bg_w /= bg_w.sum()

    vocab: dict[str, int] = {}
    for main, alt in forms_all + bg_forms:
        for word in main + (alt or ()):
            vocab.setdefault(word, len(vocab))

    def word_dist(weights, forms) -> np.ndarray:
        out = np.zeros(len(vocab))
        for pw, (main, alt) in zip(weights, forms):
            q = 1.0 - p_english if alt is not None else 1.0
            for word in main:
                out[vocab[word]] += pw * q
            for word in alt or ():
                out[vocab[word]] += pw * p_english
        return out / out.sum()

    beta = np.array([word_dist(w, f) for w, f in themes])
    background = word_dist(bg_w, bg_forms)
    return themes, list(vocab), beta, (bg_w, bg_forms, background)


def _realistic_texts(rng, theta, phrase_themes, background, lang, p_en, ptype, area, price):
    """The realistic corpus's texts and each listing's background share.

    Listing d has a length (slots ~ lognormal) and a background share lambda_d ~ Beta; each slot
    is a background word with probability lambda_d (Zipf over :data:`BACKGROUND`, some written
    after a number), else a theme z ~ theta_d and a phrase of z."""
    n, K = theta.shape
    bg_w, bg_forms, _ = background
    n_slot = np.clip(np.round(rng.lognormal(np.log(LENGTH_MEDIAN), LENGTH_SIGMA, n)), 3,
                     MAX_SLOTS).astype(np.int64)
    lam = rng.beta(*BACKGROUND_SHARE, n)
    doc_of = np.repeat(np.arange(n), n_slot)
    m = len(doc_of)
    is_bg = rng.random(m) < lam[doc_of]
    z = np.empty(m, np.int64)
    for s in range(0, m, 1_000_000):
        dd = doc_of[s:s + 1_000_000]
        z[s:s + 1_000_000] = (rng.random(len(dd))[:, None] > np.cumsum(theta[dd], 1)).sum(
            1).clip(0, K - 1)
    ur = rng.random(m)
    which = np.empty(m, np.int64)
    for k in range(K):
        rows = np.flatnonzero(z == k)
        which[rows] = np.searchsorted(np.cumsum(phrase_themes[k][0]), ur[rows]).clip(
            0, len(phrase_themes[k][0]) - 1)
    bg = np.searchsorted(np.cumsum(bg_w), rng.random(m)).clip(0, len(bg_w) - 1)
    use_en = rng.random(m) < p_en
    link = rng.random(m)
    link_pick = rng.integers(0, 64, m)
    number = rng.random(m)

    sep = " " if lang == "en" else ""
    links = EN_LINKS if lang == "en" else THAI_LINKS
    rendered = [[(sep.join(main), " ".join(alt) if alt else "") for main, alt in forms]
                for _w, forms in phrase_themes]
    bg_text = [(main[0], alt[0] if alt else "") for main, alt in bg_forms]
    type_words = ["".join(tw[2]) if lang != "en" else " ".join(tw[3]) for tw in TYPES]
    area_names = [a[2].split(",")[0] if lang == "en" else a[1] for a in AREAS]

    texts = []
    pos = 0
    for d in range(n):
        parts = [type_words[ptype[d]]]
        if link[pos] < 0.5:
            parts.append(area_names[area[d]])
        for i in range(pos, pos + n_slot[d]):
            if is_bg[i]:
                main, alt = bg_text[bg[i]]
                s = alt if use_en[i] and alt else main
                lo_hi = NUMBERED.get(s)
                if s in ("ล้าน", "million"):  # the listing's own price
                    s = f"{price[d] / 1e6:.2f} {s}"
                elif lo_hi is not None:
                    s = f"{int(lo_hi[0] + number[i] * (lo_hi[1] - lo_hi[0]))} {s}"
                parts.append(s)
                continue
            main, alt = rendered[z[i]][which[i]]
            s = alt if use_en[i] and alt else main
            if link[i] < 0.3:
                s = links[link_pick[i] % len(links)] + (
                    " " if lang == "en" or (use_en[i] and alt) else "") + s
            parts.append(s)
        pos += n_slot[d]
        texts.append(" ".join(parts))
    return texts, lam


def _prices(rng, ptype, area, theta) -> np.ndarray:
    """Asking prices (baht): by type and kind of place, higher with the luxury theme."""
    n = len(ptype)
    kidx = {k: i for i, k in enumerate(THEME_KEYS)}
    base_price = {0: 6.0e6, 1: 4.0e6, 2: 2.8e6, 3: 3.2e6, 4: 7.5e6, 5: 3.5e6, 6: 2.9e6}
    area_factor = np.array([2.0 if a[7] == "city" else 1.3 if a[7] == "beach" else 1.0
                            for a in AREAS])[area]
    lux = theta[:, kidx["luxury"]]
    price = (np.array([base_price[p] for p in ptype]) * area_factor * (1 + 2.5 * lux)
             * np.exp(rng.normal(0, 0.25, n)))
    price = (np.round(price / 10_000) * 10_000).astype(np.int64)
    return price


def _easy_texts(rng, theta, phrase_themes, lang, p_en, ptype, area) -> list[str]:
    """The "easy" corpus's texts: phrase by phrase, a theme z ~ theta_d, then a phrase of z
    (the draws, and so the texts, are exactly those of the first version)."""
    n, K = theta.shape
    n_phr = rng.poisson(PHRASES_PER_LISTING, n) + 4
    doc_of = np.repeat(np.arange(n), n_phr)
    m = len(doc_of)
    z = np.empty(m, np.int64)
    chunk = 1_000_000
    for s in range(0, m, chunk):
        dd = doc_of[s:s + chunk]
        cz = np.cumsum(theta[dd], 1)
        z[s:s + chunk] = (rng.random(len(dd))[:, None] > cz).sum(1).clip(0, K - 1)
    which = np.empty(m, np.int64)
    ur = rng.random(m)
    for k in range(K):
        rows = np.flatnonzero(z == k)
        which[rows] = np.searchsorted(np.cumsum(phrase_themes[k][0]), ur[rows]).clip(
            0, len(phrase_themes[k][0]) - 1)
    use_en = rng.random(m) < p_en
    link = rng.random(m)
    link_pick = rng.integers(0, 64, m)

    sep = " " if lang == "en" else ""
    links = EN_LINKS if lang == "en" else THAI_LINKS
    # pre-render every (theme, phrase, language) once
    rendered: list[list[tuple[str, str]]] = []
    for k in range(K):
        forms = phrase_themes[k][1]
        rendered.append([(sep.join(main), " ".join(alt) if alt else "") for main, alt in forms])
    type_words = [(("" if lang == "en" else "").join(tw[2]) if lang != "en" else " ".join(tw[3]))
                  for tw in TYPES]
    area_names = [a[2].split(",")[0] if lang == "en" else a[1] for a in AREAS]

    texts = []
    pos = 0
    for d in range(n):
        parts = [type_words[ptype[d]]]
        if link[pos] < 0.5:
            parts.append(area_names[area[d]])
        for i in range(pos, pos + n_phr[d]):
            main, alt = rendered[z[i]][which[i]]
            s = alt if use_en[i] and alt else main
            r = link[i]
            if r < 0.3:
                s = links[link_pick[i] % len(links)] + (" " if lang == "en" or (use_en[i] and alt)
                                                        else "") + s
            parts.append(s)
        pos += n_phr[d]
        texts.append(" ".join(parts))

    return texts


def generate(n: int = 5000, seed: int = 0, lang: str = "th",
             difficulty: str = "easy") -> Listings:
    """Generate ``n`` listings.

    Parameters
    ----------
    n : number of listings, 1..200,000.
    seed : the random seed; the same (n, seed, lang, difficulty) always gives the same corpus.
    lang : "th" (Thai), "en" (English) or "mixed" (Thai with about a quarter of the phrases in
        English, as many real listings are written).
    difficulty : "easy" (the default: every word comes from one theme's own phrases, themes
        share almost no words, lengths are Poisson) or "realistic": a shared background
        vocabulary (:data:`BACKGROUND`: rooms, prices, "near", "new", agency boilerplate)
        carries a Beta(4.5, 5.5) share of every listing (mean 45%), themes borrow
        :data:`BORROW` of their phrases from related themes, phrase and background
        frequencies are Zipf-like, and lengths are lognormal (a few words to a few hundred).
        Places, types, developers, dates and theme mixes are the same in both for a seed.
    """
    if not 1 <= n <= MAX_LISTINGS:
        raise ValueError(f"n must be between 1 and {MAX_LISTINGS:,}")
    if lang not in ("th", "en", "mixed"):
        raise ValueError("lang must be 'th', 'en' or 'mixed'")
    if difficulty not in ("easy", "realistic"):
        raise ValueError("difficulty must be 'easy' or 'realistic'")
    rng = np.random.default_rng([seed, 20240601])
    p_en = 0.25 if lang == "mixed" else 0.0
    if difficulty == "easy":
        phrase_themes, vocab, beta = _phrase_table(lang, p_en)
        background = None
    else:
        phrase_themes, vocab, beta, background = _realistic_table(lang, p_en)
    K = N_THEMES
    kidx = {k: i for i, k in enumerate(THEME_KEYS)}

    # 1. where, what, who, when
    aw = np.array([a[6] for a in AREAS], float)
    area = rng.choice(len(AREAS), size=n, p=aw / aw.sum())
    _skip_old_points(rng, n)
    lat, lon = _coordinates(seed, area)
    kinds = [a[7] for a in AREAS]
    u = rng.random(n)
    ptype = np.empty(n, int)
    for kind, mix in TYPE_MIX.items():
        rows = np.flatnonzero(np.isin(area, [i for i, k in enumerate(kinds) if k == kind]))
        ptype[rows] = np.searchsorted(np.cumsum(mix) / np.sum(mix), u[rows]).clip(0, 6)
    affinity = np.full((len(AREAS), len(DEVELOPERS)), 0.03)
    for j, dev in enumerate(DEVELOPERS):
        for a in dev[3]:
            affinity[AREA_KEYS.index(a), j] = 1.0
    affinity /= affinity.sum(1, keepdims=True)
    cum = np.cumsum(affinity, 1)[area]
    dev = (rng.random(n)[:, None] > cum).sum(1).clip(0, len(DEVELOPERS) - 1)
    span = int((END - START).astype(int))
    day = rng.integers(0, span + 1, n)
    date = START + day.astype("timedelta64[D]")
    t = day / span  # 0..1

    # 2. the Dirichlet parameter of each listing
    area_boost = np.zeros((len(AREAS), K))
    for i, a in enumerate(AREAS):
        for key, b in a[8].items():
            area_boost[i, kidx[key]] = b
    type_boost = np.zeros((len(TYPES), K))
    for i, d in TYPE_BOOST.items():
        for key, b in d.items():
            type_boost[i, kidx[key]] = b
    dev_boost = np.zeros((len(DEVELOPERS), K))
    for j, d in enumerate(DEVELOPERS):
        dev_boost[j, kidx[d[2]]] = DEV_BOOST
    slope = np.array([DRIFT.get(k, 0.0) for k in THEME_KEYS])
    alpha = (BASE_ALPHA + area_boost[area] + type_boost[ptype] + dev_boost[dev])
    alpha *= np.exp(slope[None, :] * (2 * t[:, None] - 1))
    theta = rng.gamma(alpha)
    theta /= theta.sum(1, keepdims=True)  # (n, K)

    # 3. the words, and a price (the realistic texts quote it)
    if difficulty == "easy":
        texts = _easy_texts(rng, theta, phrase_themes, lang, p_en, ptype, area)
        lam = None
        price = _prices(rng, ptype, area, theta)
    else:
        price = _prices(rng, ptype, area, theta)
        texts, lam = _realistic_texts(np.random.default_rng([seed, 11]), theta,
                                      phrase_themes, background, lang, p_en, ptype, area, price)

    col = 1 if lang == "en" else 0
    df = pd.DataFrame({
        "id": [f"L{d:06d}" for d in range(n)],
        "text": texts,
        "lat": lat.round(5),
        "lon": lon.round(5),
        "type": [TYPES[p][col] for p in ptype],
        "developer": [DEVELOPERS[j][col] for j in dev],
        "date": pd.to_datetime(date),
        "price": price,
        "area": [AREAS[a][2] for a in area],
    })
    truth = Truth(
        themes=list(THEME_KEYS),
        labels=[t[2] if lang == "en" else t[1] for t in THEMES],
        vocab=vocab, topic_word=beta, doc_theme=theta.astype(np.float32),
        developer_favourite={d[col]: d[2] for d in DEVELOPERS}, difficulty=difficulty,
        background=None if background is None else background[2],
        doc_background=None if lam is None else lam.astype(np.float32),
    )
    return Listings(df=df, truth=truth, lang=lang, seed=seed)


def distance_to_coast_km(lat: np.ndarray, lon: np.ndarray,
                         coast: np.ndarray = COAST_POINTS) -> np.ndarray:
    """Great-circle distance (km) from each point to the nearest of ``coast``'s shoreline
    points."""
    lat1, lon1 = np.radians(np.asarray(lat, float))[:, None], np.radians(np.asarray(lon, float))[
        :, None]
    lat2, lon2 = np.radians(coast[:, 0])[None], np.radians(coast[:, 1])[None]
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return (2 * 6371.0 * np.arcsin(np.sqrt(a))).min(1)
