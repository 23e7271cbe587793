"""Captions of dSprites images in English and Thai, for a text-to-image GAN, and a tokenizer that
says which words the model knows.

The GAN (StackGAN) learns one embedding per token id and reads a caption as a *bag* of tokens,
so the grammar is designed for that: every factor is carried by words whose meaning does not
depend on their order.

- **shape** — square / box, ellipse / oval, heart; Thai สี่เหลี่ยม / สี่เหลี่ยมจัตุรัส, วงรี, หัวใจ.
- **scale** — one word per level 0..5 (:data:`SCALE_WORDS`): tiny, small, medium, large,
  very large, huge; Thai จิ๋ว, เล็ก, กลาง (as in ขนาดกลาง), ใหญ่, ใหญ่มาก, มหึมา. "very large" is
  the two tokens {very, large} (Thai {ใหญ่, มาก}): "large" alone is level 3, "large" with the
  modifier "very" / มาก anywhere in the text is level 4 (the modifier alone means nothing).
  กลาง alone is always the scale (the captions never use it for the position), so a user's
  "อยู่กลางภาพ" reads as medium: that is what the model was taught.
- **position** — the 32 x 32 positions fall in a 3 x 3 grid of cells (:data:`X_BINS`,
  :data:`Y_BINS`: pos_x 0 is the left edge, pos_y 0 the top, as :func:`unsup.data.dsprites.render`
  draws them). left / right (ซ้าย / ขวา) name the x bin, top / bottom (บน / ล่าง) the y bin, and
  an axis that no word names is the centre one as soon as any position word is there: "top left"
  is a corner, "top" alone the top centre cell, "on the left" the left middle one, and the centre
  cell is named by middle / centre / center (ตรงกลาง), which add nothing to the other words
  ("top middle" is still the top centre cell).
- **orientation** — "turned 36 degrees" / "หมุน 36 องศา", with the exact angle of the level
  (level x 9). Every number a user types is a known token: it is read as the nearest level
  (value mod 360, to the nearest multiple of 9; 360 is 0), and that reading is the token's
  meaning, e.g. "40" is the token ``<deg36>`` with meaning "orientation: 36° (40 read as 36°)".
- **filler** words (a, the, near, corner, degrees, ขนาด, รูป, ที่, มุม, องศา, ...) are known tokens
  that carry no factor. Punctuation is not a word and is dropped silently.

The vocabulary (:data:`VOCAB`) is exactly the words the grammar writes, plus one token per
orientation level, so every known token appears in the training captions: a word the model has
never seen trained (an untrained embedding) is never shown as known.

Tokenizing: text is cut at whitespace into chunks (a token never spans whitespace, so the
tokens of a chunk are memoised). In a chunk, Latin runs are lowercased words (hyphens and other
punctuation split them), numbers (ASCII or Thai digits, an optional minus and decimals) are
orientation tokens, and Thai letter runs go through PyThaiNLP's ``newmm`` with a dictionary of
the Thai vocabulary only, so every vocabulary word comes out whole. A Thai run with text outside
the vocabulary is checked once more against ``newmm`` with PyThaiNLP's full dictionary: a
vocabulary word that is only the start of a longer real word (ขวา in ขวาง, กลาง in กลางคืน) is
not counted as known, a vocabulary word that the vocabulary-only pass left inside unknown text
(บน after an unknown word: ``newmm`` does not restart at two-consonant words) is found, and the
unknown fragments next to each other become ONE unknown token, so a report names "สีม่วง", not
its syllables. ๆ and ฯ are dropped like punctuation. The full dictionary is loaded the first
time it is needed (about 1.3 s; :func:`warm_up` loads it ahead, off the page's thread).

Generating: :func:`describe` writes one caption from pre-tokenized phrases (templates over the
word tuples below, assembled into tables at import), so a caption costs a few list look-ups and
``tokenize(caption)`` gives exactly the tokens the grammar used (a test checks it).
:func:`random_captions` draws everything from a ``torch.Generator`` in one call, so the same
generator state gives the same captions.

Held-out combinations: (shape, scale, x bin, y bin) has 3 * 6 * 3 * 3 = 162 combinations;
:data:`HELDOUT_COMBOS` are 32 of them kept out of training (drawn with a fixed seed) to test
whether the GAN composes words it has only seen apart. Every value of every factor and every
(shape, scale) pair still occurs among the training combinations.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from unsup.data.dsprites import FACTOR_SIZES, SHAPES
from unsup.text import _thai_setup

LANGS = ("en", "th")
PARTS = ("shape", "scale", "position", "orientation")
"""What a caption can mention (the shape always is)."""

# -- position bins --------------------------------------------------------------------------------
X_BINS = ((0, 10), (11, 20), (21, 31))
"""Inclusive pos_x level ranges of the bins left / centre / right (pos_x 0 is the left edge)."""
Y_BINS = ((0, 10), (11, 20), (21, 31))
"""Inclusive pos_y level ranges of the bins top / middle / bottom (pos_y 0 is the top row)."""
X_NAMES = ("left", "centre", "right")
Y_NAMES = ("top", "middle", "bottom")


def _edges(bins: tuple[tuple[int, int], ...], size: int) -> np.ndarray:
    assert bins[0][0] == 0 and bins[-1][1] == size - 1
    assert all(a[1] + 1 == b[0] for a, b in zip(bins, bins[1:])), "bins must tile the levels"
    return np.array([hi for _, hi in bins[:-1]], np.int64)


_X_EDGES = _edges(X_BINS, FACTOR_SIZES[3])
_Y_EDGES = _edges(Y_BINS, FACTOR_SIZES[4])


def x_bin(level):
    """The x bin (0 left, 1 centre, 2 right) of pos_x level(s): an int for an int, else an
    array."""
    b = np.searchsorted(_X_EDGES, level, side="left")
    return int(b) if np.ndim(b) == 0 else b


def y_bin(level):
    """The y bin (0 top, 1 middle, 2 bottom) of pos_y level(s): an int for an int, else an
    array."""
    b = np.searchsorted(_Y_EDGES, level, side="left")
    return int(b) if np.ndim(b) == 0 else b


def cell(factors):
    """(x bin, y bin) of factor indices (..., 5) in dSprites order (shape, scale, orientation,
    pos_x, pos_y)."""
    f = np.asarray(factors, dtype=np.int64)
    return x_bin(f[..., 3]), y_bin(f[..., 4])


# -- words ----------------------------------------------------------------------------------------
SCALE_NAMES = ("tiny", "small", "medium", "large", "very large", "huge")
"""English name of each scale level (dSprites scale 0.5, 0.6, ..., 1.0)."""
SCALE_VALUES = tuple(round(0.5 + 0.1 * i, 1) for i in range(6))

SHAPE_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (("square", "box"), ("ellipse", "oval"), ("heart",)),
    "th": (("สี่เหลี่ยม", "สี่เหลี่ยมจัตุรัส"), ("วงรี",), ("หัวใจ",)),
}
"""The words of each shape (0 square, 1 ellipse, 2 heart); the first is the usual one, the
others are synonyms (captions use them all, so the model learns them)."""

SCALE_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (("tiny",), ("small",), ("medium",), ("large",), ("very", "large"), ("huge",)),
    "th": (("จิ๋ว",), ("เล็ก",), ("กลาง",), ("ใหญ่",), ("ใหญ่", "มาก"), ("มหึมา",)),
}
"""The tokens of each scale level 0..5 (level 4 is the modifier + the level-3 word)."""
VERY_WORDS = {"en": "very", "th": "มาก"}
"""The modifier that turns the level-3 word into level 4 (it means nothing alone)."""

X_WORDS = {"en": ("left", None, "right"), "th": ("ซ้าย", None, "ขวา")}
Y_WORDS = {"en": ("top", None, "bottom"), "th": ("บน", None, "ล่าง")}
CENTRE_WORDS = {"en": ("middle", "centre", "center"), "th": ("ตรงกลาง",)}
"""Words for the centre cell; with another position word they add nothing."""

FILLERS = {
    "en": ("a", "an", "the", "in", "near", "at", "on", "along", "corner", "edge", "side",
           "shape", "turned", "rotated", "by", "degrees"),
    "th": ("ขนาด", "รูป", "ที่", "ใกล้", "อยู่", "มุม", "ด้าน", "ทาง", "หมุน", "เอียง", "องศา"),
}
"""Known words that carry no factor (each is used by some template below)."""

# Templates: tuples of words and slots. {a} is "a"/"an" for the next word, {shape} {scale} {x}
# {y} {c} (a centre word) and {deg} (the angle) are filled in; everything else is a filler.
SHAPE_TEMPLATES = {
    "en": {True: (("{a}", "{scale}", "{shape}"), ("the", "{scale}", "{shape}"),
                  ("{a}", "{scale}", "{shape}", "shape")),
           False: (("{a}", "{shape}"), ("the", "{shape}"), ("{a}", "{shape}", "shape"))},
    "th": {True: (("{shape}", "ขนาด", "{scale}"), ("รูป", "{shape}", "ขนาด", "{scale}"),
                  ("{shape}", "{scale}"), ("รูป", "{shape}", "{scale}")),
           False: (("{shape}",), ("รูป", "{shape}"))},
}
"""Shape phrases, with (True) and without (False) the scale. Thai กลาง is only written after ขนาด
(หัวใจกลาง would read as "the central heart")."""

POSITION_TEMPLATES = {
    "en": {"corner": (("in", "the", "{y}", "{x}", "corner"),
                      ("near", "the", "{y}", "{x}", "corner"),
                      ("near", "the", "{y}", "{x}"), ("at", "the", "{y}", "{x}")),
           "y": (("at", "the", "{y}"), ("near", "the", "{y}"), ("along", "the", "{y}", "edge"),
                 ("at", "the", "{y}", "in", "the", "{c}")),
           "x": (("on", "the", "{x}"), ("near", "the", "{x}"), ("on", "the", "{x}", "side"),
                 ("at", "the", "{x}", "edge")),
           "centre": (("in", "the", "{c}"), ("near", "the", "{c}"), ("at", "the", "{c}"))},
    "th": {"corner": (("ที่", "มุม", "{x}", "{y}"), ("ใกล้", "มุม", "{x}", "{y}"),
                      ("อยู่", "มุม", "{y}", "{x}"), ("ที่", "มุม", "{y}", "{x}")),
           "y": (("ด้าน", "{y}"), ("ที่", "ด้าน", "{y}"), ("อยู่", "ด้าน", "{y}"),
                 ("{c}", "ด้าน", "{y}")),
           "x": (("ด้าน", "{x}"), ("ทาง", "{x}"), ("ทาง", "ด้าน", "{x}"), ("ใกล้", "ด้าน", "{x}"),
                 ("อยู่", "ด้าน", "{x}")),
           "centre": (("{c}",), ("ที่", "{c}"), ("อยู่", "{c}"))},
}
"""Position phrases by kind of cell: a corner, the centre column at the top or bottom ("y"), the
middle row at the left or right ("x"), and the centre cell."""

ORIENTATION_TEMPLATES = {
    "en": (("turned", "{deg}", "degrees"), ("rotated", "{deg}", "degrees"),
           ("rotated", "by", "{deg}", "degrees")),
    "th": (("หมุน", "{deg}", "องศา"), ("เอียง", "{deg}", "องศา")),
}

# How words and phrases are glued: English words with spaces, the orientation after a comma;
# Thai words run together inside a phrase, a space between phrases and around the number.
_WORD_GLUE = {"en": (" ", " ", " "), "th": ("", "", " ")}  # shape, position, orientation
_PART_GLUE = {"en": (" ", ", "), "th": (" ", " ")}  # before position, before orientation

N_ORIENT = FACTOR_SIZES[2]
DEGREES_PER_LEVEL = 360 // N_ORIENT  # 9


def degree_token(level: int) -> str:
    """The vocabulary token of an orientation level, e.g. ``<deg27>`` for level 3."""
    return f"<deg{level * DEGREES_PER_LEVEL}>"


def _vocab() -> tuple[str, ...]:
    words: list[str] = ["<pad>"]
    for lang in LANGS:
        groups = [w for syn in SHAPE_WORDS[lang] for w in syn]
        groups += [w for phrase in SCALE_WORDS[lang] for w in phrase]
        groups += [w for w in X_WORDS[lang] + Y_WORDS[lang] if w]
        groups += list(CENTRE_WORDS[lang]) + list(FILLERS[lang])
        for w in groups:
            if w not in words:
                words.append(w)
    words += [degree_token(i) for i in range(N_ORIENT)]
    assert len(set(words)) == len(words)
    return tuple(words)


VOCAB: tuple[str, ...] = _vocab()
"""Index 0 is padding, then the English words, the Thai words, and one token per orientation
level (``<deg0>`` .. ``<deg351>``), in the order of the constants above."""
VOCAB_SIZE = len(VOCAB)
MAX_TOKENS = 16
"""Tokens per encoded caption (the longest generated caption has 15, :data:`LONGEST_CAPTION`);
longer input is cut, and :func:`read` / :func:`truncated` say which known words were lost."""

_INDEX = {w: i for i, w in enumerate(VOCAB)}
_DEG0 = _INDEX[degree_token(0)]
_THAI_WORDS = tuple(w for w in VOCAB if "\u0E00" <= w[0] <= "\u0E7F")

def _roles() -> list[tuple[str, int] | None]:
    """id -> (kind, value): kind is shape / scale / x / y / centre / very / orientation; None for
    fillers and padding."""
    role: list[tuple[str, int] | None] = [None] * VOCAB_SIZE
    for lang in LANGS:
        very, large = VERY_WORDS[lang], SCALE_WORDS[lang][3][0]
        assert set(SCALE_WORDS[lang][4]) == {very, large}, "level 4 is 'very' + the level 3 word"
        for s, syn in enumerate(SHAPE_WORDS[lang]):
            for w in syn:
                role[_INDEX[w]] = ("shape", s)
        for lvl, phrase in enumerate(SCALE_WORDS[lang]):
            if len(phrase) == 1:
                role[_INDEX[phrase[0]]] = ("scale", lvl)
        role[_INDEX[very]] = ("very", 4)
        for b in (0, 2):
            role[_INDEX[X_WORDS[lang][b]]] = ("x", b)
            role[_INDEX[Y_WORDS[lang][b]]] = ("y", b)
        for w in CENTRE_WORDS[lang]:
            role[_INDEX[w]] = ("centre", 1)
    for lvl in range(N_ORIENT):
        role[_DEG0 + lvl] = ("orientation", lvl)
    return role


_ROLE = _roles()
_VERY_IDS = frozenset(_INDEX[VERY_WORDS[lg]] for lg in LANGS)
_LARGE_IDS = frozenset(_INDEX[SCALE_WORDS[lg][3][0]] for lg in LANGS)


def _meaning(role: tuple[str, int] | None) -> str | None:
    if role is None:
        return None
    kind, v = role
    if kind == "shape":
        return f"shape: {SHAPES[v]}"
    if kind == "scale":
        return f"scale: {SCALE_NAMES[v]} ({SCALE_VALUES[v]})"
    if kind == "x":
        return f"x: {X_NAMES[v]}"
    if kind == "y":
        return f"y: {Y_NAMES[v]}"
    if kind == "centre":
        return "position: centre"
    if kind == "orientation":
        return f"orientation: {v * DEGREES_PER_LEVEL}°"
    return None  # the modifier "very" alone


_MEANING = [_meaning(r) for r in _ROLE]
_VERY_LARGE = _meaning(("scale", 4))


# -- tokenizing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One word of a text: ``text == original[start:end]`` (original casing); ``id`` its
    vocabulary id, None for an unknown word; ``meaning`` what it says about the image (e.g.
    "shape: heart", "orientation: 36° (40 read as 36°)"), None for fillers and unknown words."""

    text: str
    start: int
    end: int
    id: int | None
    meaning: str | None


_THAI_LETTERS = "\u0E01-\u0E2E\u0E30-\u0E3A\u0E40-\u0E45\u0E47-\u0E4E"  # not ฯ ๆ ๏ digits ๚ ๛
_SCAN = re.compile(
    rf"(?P<thai>[{_THAI_LETTERS}]+)"
    r"|(?P<num>(?:(?<![^\W_])[-\u2212])?\d+(?:\.\d+)?)"
    r"|(?P<word>(?:(?![\u0E00-\u0E7F])[^\W\d_]|[\u0300-\u036F])+)")
_CHUNK = re.compile(r"\S+")


def degrees_to_level(degrees) -> int:
    """The orientation level nearest to an angle in degrees (mod 360; halves round up; 360 and
    anything that rounds to it is level 0)."""
    q = Fraction(degrees) % 360 / DEGREES_PER_LEVEL
    return math.floor(q + Fraction(1, 2)) % N_ORIENT


def _number(text: str) -> tuple[int, str]:
    """(level, meaning) of a number as typed (any Unicode decimal digits)."""
    neg = text[0] in "-\u2212"
    whole, _, frac = text[neg:].partition(".")
    value = Fraction(0)
    for c in whole:  # mod 360 digit by digit: a number of any length is fine
        value = (value * 10 + unicodedata.digit(c)) % 360
    frac = "".join(str(unicodedata.digit(c)) for c in frac[:12])  # enough to round to 9°
    if frac:
        value += Fraction(int(frac), 10 ** len(frac))
    level = degrees_to_level(-value if neg else value)
    deg = level * DEGREES_PER_LEVEL
    typed = int("".join(str(unicodedata.digit(c)) for c in whole)) if len(whole) < 9 else -1
    meaning = f"orientation: {deg}°"
    if typed != deg or frac.strip("0") or (neg and typed != 0):
        shown = text if len(text) <= 12 else text[:10] + "…"
        meaning += f" ({shown} read as {deg}°)"
    return level, meaning


@lru_cache(maxsize=1)
def _vocab_trie():
    _thai_setup()
    from pythainlp.util import dict_trie

    return dict_trie(_THAI_WORDS)


@lru_cache(maxsize=1)
def _full_trie():
    """PyThaiNLP's whole dictionary (with the vocabulary words, should one be missing)."""
    _thai_setup()
    from pythainlp.corpus.common import thai_words
    from pythainlp.tokenize import word_dict_trie
    from pythainlp.util import dict_trie

    words = thai_words()
    if set(_THAI_WORDS) <= words:
        return word_dict_trie()
    return dict_trie(set(words) | set(_THAI_WORDS))


def warm_up() -> None:
    """Load both PyThaiNLP dictionaries now (the vocabulary one takes ~0.2 s, the full one ~1.3 s
    the first time Thai text with an unknown word is read): call it off the page's thread."""
    _vocab_trie()
    _full_trie()


def _spans(run: str, trie) -> list[tuple[int, int]] | None:
    """newmm's words of ``run`` as (start, end) offsets, None if they do not tile the run."""
    _thai_setup()
    from pythainlp.tokenize.newmm import segment

    out, pos = [], 0
    for w in segment(run, custom_dict=trie):
        if run.startswith(w, pos) and w:
            out.append((pos, pos + len(w)))
            pos += len(w)
        else:
            return None
    return out if pos == len(run) else None


def _thai_pieces(run: str) -> list[tuple[int, int, int | None]]:
    """(start, end, id or None) of the words of a run of Thai letters; see the module notes."""
    spans = _spans(run, _vocab_trie())
    if spans is None:  # not expected; count the run as one unknown word rather than guess
        return [(0, len(run), None)]
    pieces = [[s, e, _INDEX.get(run[s:e])] for s, e in spans]
    if all(p[2] is not None for p in pieces):
        return [(s, e, i) for s, e, i in pieces]
    full = _spans(run, _full_trie()) or []
    # 1. vocabulary words the full dictionary finds inside unknown text are known words
    for fs, fe in full:
        i = _INDEX.get(run[fs:fe])
        if i is None:
            continue
        for k, (s, e, pid) in enumerate(pieces):
            if pid is None and s <= fs and fe <= e:
                pieces[k:k + 1] = [p for p in ([s, fs, None], [fs, fe, i], [fe, e, None])
                                   if p[0] < p[1]]
                break
    # 2. a real word outside the vocabulary that overlaps unknown text makes all it covers
    #    unknown (ขวา + ง is the unknown word ขวาง)
    changed = True
    while changed:
        changed = False
        for fs, fe in full:
            if run[fs:fe] in _INDEX:
                continue
            hit = [p for p in pieces if p[0] < fe and fs < p[1]]
            if any(p[2] is None for p in hit) and any(p[2] is not None for p in hit):
                for p in hit:
                    p[2] = None
                changed = True
    # 3. neighbouring unknown fragments are one unknown word
    out: list[tuple[int, int, int | None]] = []
    for s, e, i in pieces:
        if i is None and out and out[-1][2] is None:
            out[-1] = (out[-1][0], e, None)
        else:
            out.append((s, e, i))
    return out


@lru_cache(maxsize=65_536)
def _chunk_tokens(chunk: str) -> tuple[tuple[int, int, int | None, str | None], ...]:
    """(start, end, id, meaning) of the words of a whitespace-free chunk."""
    out: list[tuple[int, int, int | None, str | None]] = []
    for m in _SCAN.finditer(chunk):
        kind, s = m.lastgroup, m.start()
        if kind == "thai":
            for a, b, i in _thai_pieces(m.group()):
                out.append((s + a, s + b, i, None if i is None else _MEANING[i]))
        elif kind == "num":
            level, meaning = _number(m.group())
            out.append((s, m.end(), _DEG0 + level, meaning))
        else:
            i = _INDEX.get(m.group().lower())
            out.append((s, m.end(), i, None if i is None else _MEANING[i]))
    return tuple(out)


@lru_cache(maxsize=65_536)
def _chunk_ids(chunk: str) -> tuple[int, ...]:
    return tuple(t[2] for t in _chunk_tokens(chunk) if t[2] is not None)


def tokenize(text: str) -> list[Token]:
    """The words of ``text`` in order, known and unknown (punctuation dropped); offsets index the
    original text. "large" and "very" (ใหญ่, มาก) mean "very large" when both are present."""
    text = "" if text is None else str(text)
    raw = []
    for m in _CHUNK.finditer(text):
        base = m.start()
        raw.extend((base + s, base + e, i, mn) for s, e, i, mn in _chunk_tokens(m.group()))
    ids = {r[2] for r in raw}
    very_large = bool(ids & _VERY_IDS) and bool(ids & _LARGE_IDS)
    toks = []
    for s, e, i, mn in raw:
        if very_large and (i in _VERY_IDS or i in _LARGE_IDS):
            mn = _VERY_LARGE
        toks.append(Token(text[s:e], s, e, i, mn))
    return toks


def _ids(text: str) -> list[int]:
    out: list[int] = []
    for m in _CHUNK.finditer("" if text is None else str(text)):
        out.extend(_chunk_ids(m.group()))
    return out


def encode(texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> torch.Tensor:
    """Known token ids of each text, in order (unknown words skipped), cut to ``max_tokens`` and
    padded with 0: a LongTensor (len(texts), max_tokens)."""
    if isinstance(texts, str):
        texts = [texts]
    rows = []
    for t in texts:
        ids = _ids(t)[:max_tokens]
        rows.append(ids + [0] * (max_tokens - len(ids)))
    if not rows:
        return torch.zeros(0, max_tokens, dtype=torch.long)
    return torch.tensor(rows, dtype=torch.long)


def truncated(tokens: Sequence[Token], max_tokens: int = MAX_TOKENS) -> list[Token]:
    """The known tokens past the first ``max_tokens``: the model never sees them."""
    known = [t for t in tokens if t.id is not None]
    return known[max_tokens:]


def read(text: str, max_tokens: int = MAX_TOKENS) -> dict:
    """What a text asks for, as the model is told it (the first ``max_tokens`` known tokens).

    Returns "shape", "scale", "x", "y", "orientation": a level / bin index, or None when not
    mentioned (a position word names both bins: the axis it does not name is the centre one);
    the first mention wins when there are several. "unknown": the unknown words; "conflicts":
    the factors mentioned with two different values ("a small large heart" -> ["scale"]);
    "truncated": known words past ``max_tokens``.
    """
    toks = tokenize(text)
    known = [t for t in toks if t.id is not None]
    seen = known[:max_tokens]
    ids = {t.id for t in seen}
    very = bool(ids & _VERY_IDS)
    said: dict[str, list[int]] = {k: [] for k in ("shape", "scale", "x", "y", "orientation")}
    position = False
    for t in seen:
        role = _ROLE[t.id]
        if role is None or role[0] == "very":
            continue
        kind, v = role
        if kind == "scale" and v == 3 and very:
            v = 4
        if kind in ("x", "y", "centre"):
            position = True
        if kind != "centre":
            said[kind].append(v)
    out: dict = {k: (vals[0] if vals else None) for k, vals in said.items()}
    if position:
        out["x"] = 1 if out["x"] is None else out["x"]
        out["y"] = 1 if out["y"] is None else out["y"]
    out["unknown"] = [t.text for t in toks if t.id is None]
    out["conflicts"] = [k for k, vals in said.items() if len(set(vals)) > 1]
    out["truncated"] = [t.text for t in known[max_tokens:]]
    return out


# -- generating -----------------------------------------------------------------------------------
_Phrase = tuple[str, tuple[str, ...]]  # (surface, tokens)


def _fill(template: tuple[str, ...], slots: dict[str, tuple[str, ...]],
          glue: str) -> _Phrase:
    words: list[str] = []
    for item in template:
        words.extend(slots[item] if item in slots else (item,))
    if "{a}" in words:  # the article agrees with the word after it
        k = words.index("{a}")
        words[k] = "an" if words[k + 1][0] in "aeiou" else "a"
    return glue.join(words), tuple(words)


def _tables(lang: str):
    """Every phrase of the grammar, pre-tokenized: shape[s][scale or 6], position[x][y],
    orientation[level] -> list of variants (surface, tokens)."""
    glue_shape, glue_pos, glue_ori = _WORD_GLUE[lang]
    shape = []
    for s, syns in enumerate(SHAPE_WORDS[lang]):
        row = []
        for lvl in list(range(6)) + [None]:
            variants = []
            for tpl in SHAPE_TEMPLATES[lang][lvl is not None]:
                if lang == "th" and lvl == 2 and "ขนาด" not in tpl:
                    continue
                for w in syns:
                    slots = {"{shape}": (w,)}
                    if lvl is not None:
                        slots["{scale}"] = SCALE_WORDS[lang][lvl]
                    variants.append(_fill(tpl, slots, glue_shape))
            row.append(variants)
        shape.append(row)
    position = []
    for xb in range(3):
        row = []
        for yb in range(3):
            kind = ("centre" if xb == 1 and yb == 1 else "y" if xb == 1 else
                    "x" if yb == 1 else "corner")
            variants = []
            for tpl in POSITION_TEMPLATES[lang][kind]:
                for c in (CENTRE_WORDS[lang] if "{c}" in tpl else (None,)):
                    slots = {"{x}": (X_WORDS[lang][xb],), "{y}": (Y_WORDS[lang][yb],),
                             "{c}": (c,)}
                    variants.append(_fill(tpl, slots, glue_pos))
            row.append(variants)
        position.append(row)
    orientation = [[_fill(tpl, {"{deg}": (str(lvl * DEGREES_PER_LEVEL),)}, glue_ori)
                    for tpl in ORIENTATION_TEMPLATES[lang]] for lvl in range(N_ORIENT)]
    return shape, position, orientation


_TABLES = {lang: _tables(lang) for lang in LANGS}


def _check_grammar() -> int:
    """Every word the grammar writes is in the vocabulary, every vocabulary word is written by
    it, and the longest caption fits :data:`MAX_TOKENS`; returns that length."""
    used: set[str] = set()
    longest = 0
    for lang in LANGS:
        shape, position, orientation = _TABLES[lang]
        parts = [[v for row in shape for vs in row for v in vs],
                 [v for row in position for vs in row for v in vs],
                 [v for vs in orientation for v in vs]]
        for part in parts:
            for _, words in part:
                used.update(words)
        longest = max(longest, sum(max(len(w) for _, w in part) for part in parts))
    numbers = {str(i * DEGREES_PER_LEVEL) for i in range(N_ORIENT)}
    words = {w for w in VOCAB[1:] if not w.startswith("<deg")}
    assert used - numbers == words, (used - numbers) ^ words
    assert longest <= MAX_TOKENS, longest
    return longest


LONGEST_CAPTION = _check_grammar()
"""Tokens in the longest caption the grammar can write."""


def _pick(variants: list, u: float):
    return variants[min(int(u * len(variants)), len(variants) - 1)]


def _compose(f: Sequence[int], lang: str, scale: bool, position: bool, orientation: bool,
             u_shape: float, u_pos: float, u_ori: float) -> _Phrase:
    """One caption of factor indices ``f`` (shape, scale, orientation, pos_x, pos_y)."""
    shape_t, pos_t, ori_t = _TABLES[lang]
    text, toks = _pick(shape_t[f[0]][f[1] if scale else 6], u_shape)
    before_pos, before_ori = _PART_GLUE[lang]
    if position:
        p_text, p_toks = _pick(pos_t[x_bin(int(f[3]))][y_bin(int(f[4]))], u_pos)
        text, toks = text + before_pos + p_text, toks + p_toks
    if orientation:
        o_text, o_toks = _pick(ori_t[f[2]], u_ori)
        text, toks = text + before_ori + o_text, toks + o_toks
    return text, toks


def _check_mention(mention: Sequence[str]) -> set[str]:
    bad = set(mention) - set(PARTS)
    if bad:
        raise ValueError(f"unknown caption part(s) {sorted(bad)}; choose from {PARTS}")
    return set(mention)


def _row(factors_row) -> list[int]:
    f = [int(v) for v in np.asarray(factors_row).reshape(-1)]
    if len(f) != 5 or not all(0 <= v < n for v, n in zip(f, FACTOR_SIZES)):
        raise ValueError(f"expected 5 dSprites factor indices, got {f}")
    return f


def describe_tokens(factors_row, lang: str = "en", rng: np.random.Generator | None = None,
                    mention: Sequence[str] = PARTS) -> tuple[str, tuple[str, ...]]:
    """:func:`describe`, with the tokens the grammar used (lowercase words and numbers)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    m = _check_mention(mention)
    u = rng.random(3) if rng is not None else np.zeros(3)
    return _compose(_row(factors_row), lang, "scale" in m, "position" in m,
                    "orientation" in m, *u.tolist())


def describe(factors_row, lang: str = "en", rng: np.random.Generator | None = None,
             mention: Sequence[str] = PARTS) -> str:
    """One caption of one image's factor indices (shape, scale, orientation, pos_x, pos_y), in
    English ("en") or Thai ("th"), e.g. "a small heart near the top left, turned 36 degrees" /
    "หัวใจขนาดเล็ก ใกล้มุมซ้ายบน หมุน 36 องศา". The template and synonyms are drawn with ``rng``
    (the first of each without one); only the parts in ``mention`` are said (the shape always
    is)."""
    return describe_tokens(factors_row, lang, rng, mention)[0]


P_DROP_ORIENTATION = 0.5
"""Default chance that a training caption leaves the orientation out: higher than for scale and
position because the angle is the hardest factor to see (a square looks the same every 90°, an
ellipse every 180°), so half the captions leave it free and the model learns to vary it."""


def random_captions(factors, generator: torch.Generator, *, p_th: float = 0.5,
                    p_drop: float = 0.2,
                    p_drop_orientation: float = P_DROP_ORIENTATION) -> list[str]:
    """One training caption per row of factor indices (b, 5): Thai with probability ``p_th``,
    else English; the scale and the position each left out with probability ``p_drop``, the
    orientation with ``p_drop_orientation``; templates and synonyms uniform. Every random number
    comes from one draw of ``generator`` (7 per caption), so the same generator state gives the
    same captions."""
    f = np.asarray(factors.cpu() if isinstance(factors, torch.Tensor) else factors, np.int64)
    f = f.reshape(-1, 5)
    u = torch.rand((len(f), 7), generator=generator, dtype=torch.float64,
                   device=generator.device).cpu().numpy().tolist()
    out = []
    for row, (ul, us, up, uo, a, b, c) in zip(f.tolist(), u):
        out.append(_compose(row, "th" if ul < p_th else "en", us >= p_drop, up >= p_drop,
                            uo >= p_drop_orientation, a, b, c)[0])
    return out


# -- held-out combinations ------------------------------------------------------------------------
N_COMBOS = 3 * 6 * 3 * 3  # shape x scale x x-bin x y-bin = 162
N_HELDOUT = 32
HELDOUT_SEED = 2017


def combo(factors):
    """Index in 0..161 of (shape, scale, x bin, y bin) of factor indices (..., 5): an int for one
    row, else an array."""
    f = np.asarray(factors, dtype=np.int64)
    xb, yb = cell(f)
    c = ((f[..., 0] * 6 + f[..., 1]) * 3 + xb) * 3 + yb
    return int(c) if np.ndim(c) == 0 else c


def combo_parts(i: int) -> tuple[int, int, int, int]:
    """(shape, scale, x bin, y bin) of a combination index."""
    i = int(i)
    if not 0 <= i < N_COMBOS:
        raise ValueError(f"combination index {i} not in [0, {N_COMBOS})")
    rest, yb = divmod(i, 3)
    rest, xb = divmod(rest, 3)
    shape, scale = divmod(rest, 6)
    return shape, scale, xb, yb


def _covers(train: set[int]) -> bool:
    parts = [combo_parts(c) for c in train]
    return (len({p[:2] for p in parts}) == 18 and len({p[2] for p in parts}) == 3
            and len({p[3] for p in parts}) == 3)


def _draw_heldout() -> frozenset[int]:
    """32 combinations, in the order of a seeded permutation, each taken only if the rest still
    has every shape, scale, x bin, y bin and (shape, scale) pair."""
    order = np.random.default_rng(HELDOUT_SEED).permutation(N_COMBOS)
    held: set[int] = set()
    everything = set(range(N_COMBOS))
    for c in order.tolist():
        if _covers(everything - held - {c}):
            held.add(c)
            if len(held) == N_HELDOUT:
                break
    assert len(held) == N_HELDOUT
    return frozenset(held)


HELDOUT_COMBOS: frozenset[int] = _draw_heldout()
"""Combinations of (shape, scale, x bin, y bin) kept out of training."""
assert _covers(set(range(N_COMBOS)) - HELDOUT_COMBOS)
_HELDOUT_MASK = np.zeros(N_COMBOS, bool)
_HELDOUT_MASK[sorted(HELDOUT_COMBOS)] = True


def is_heldout_combo(factors) -> np.ndarray:
    """Whether each row of factor indices (..., 5) is a held-out combination (bool array)."""
    return _HELDOUT_MASK[combo(factors)]


_COMBO_POS = {
    "en": lambda xb, yb: ("centre" if xb == yb == 1 else Y_NAMES[yb] if xb == 1 else
                          X_NAMES[xb] if yb == 1 else f"{Y_NAMES[yb]} {X_NAMES[xb]}"),
    "th": lambda xb, yb: ("ตรงกลาง" if xb == yb == 1 else "ด้าน" + Y_WORDS["th"][yb] if xb == 1
                          else "ด้าน" + X_WORDS["th"][xb] if yb == 1
                          else "มุม" + X_WORDS["th"][xb] + Y_WORDS["th"][yb]),
}


def combo_name(i: int, lang: str = "en") -> str:
    """A short name of a combination, e.g. "large heart, bottom right" /
    "หัวใจขนาดใหญ่ มุมขวาล่าง"."""
    shape, scale, xb, yb = combo_parts(i)
    if lang == "en":
        return f"{SCALE_NAMES[scale]} {SHAPES[shape]}, {_COMBO_POS['en'](xb, yb)}"
    if lang == "th":
        words = "".join(SCALE_WORDS["th"][scale])
        return f"{SHAPE_WORDS['th'][shape][0]}ขนาด{words} {_COMBO_POS['th'](xb, yb)}"
    raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
