"""Captions of dSprites images in English and Thai, and the tokenizer (unsup.data.captions)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import torch

from unsup.data import captions as C

SIZES = (3, 6, 40, 32, 32)


def _factors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, n) for k in SIZES], 1)


def _expected(f, mention) -> dict:
    xb, yb = C.x_bin(int(f[3])), C.y_bin(int(f[4]))
    return {"shape": int(f[0]),
            "scale": int(f[1]) if "scale" in mention else None,
            "x": xb if "position" in mention else None,
            "y": yb if "position" in mention else None,
            "orientation": int(f[2]) if "orientation" in mention else None}


def _words(text: str) -> tuple[str, ...]:
    return tuple(t.text.lower() for t in C.tokenize(text))


# -- vocabulary and grammar ---------------------------------------------------------------------
def test_vocab_layout():
    assert C.VOCAB[0] == "<pad>" and C.VOCAB_SIZE == len(C.VOCAB) == len(set(C.VOCAB))
    assert C.VOCAB[-40:] == tuple(f"<deg{9 * i}>" for i in range(40))
    for w in ("heart", "oval", "box", "very", "centre", "center", "หัวใจ", "ตรงกลาง", "องศา"):
        assert w in C.VOCAB
    assert C.LONGEST_CAPTION <= C.MAX_TOKENS
    assert C._vocab() == C.VOCAB  # rebuilt the same way: stable order


def test_every_phrase_of_the_grammar_is_found_whole():
    """Each pre-tokenized phrase (every template, synonym and level) tokenizes into exactly the
    words the grammar put in it, all known: tokens never span whitespace, so this covers every
    caption."""
    n = 0
    for lang in C.LANGS:
        shape, position, orientation = C._TABLES[lang]
        variants = ([v for row in shape for vs in row for v in vs]
                    + [v for row in position for vs in row for v in vs]
                    + [v for vs in orientation for v in vs])
        for text, words in variants:
            toks = C.tokenize(text)
            assert tuple(t.text for t in toks) == words, (lang, text)
            assert all(t.id is not None for t in toks), text
            n += 1
    assert n > 300


def test_generated_captions_read_back_exactly():
    subsets = [("shape",) + s for k in range(4)
               for s in itertools.combinations(("scale", "position", "orientation"), k)]
    f_all = _factors(60, 1)
    for lang in C.LANGS:
        for seed, f in enumerate(f_all):
            rng = np.random.default_rng(seed)
            for mention in subsets:
                text, words = C.describe_tokens(f, lang, rng, mention)
                assert _words(text) == words, text
                got = C.read(text)
                assert got["unknown"] == [] and got["conflicts"] == [], text
                assert got["truncated"] == []
                assert {k: got[k] for k in ("shape", "scale", "x", "y", "orientation")} == \
                    _expected(f, mention), text


def test_describe_examples_and_validation():
    f = [2, 1, 4, 0, 0]
    texts = {C.describe(f, "en", np.random.default_rng(s)) for s in range(300)}
    assert "a small heart near the top left, turned 36 degrees" in texts
    th = {C.describe(f, "th", np.random.default_rng(s)) for s in range(300)}
    assert "หัวใจขนาดเล็ก ใกล้มุมซ้ายบน หมุน 36 องศา" in th
    assert C.describe(f) == C.describe(f)  # no rng: the first template of each part
    assert C.describe([1, 0, 0, 16, 16], mention=("shape",)) == "an ellipse"
    assert "กลาง" in C.describe([2, 2, 0, 16, 16], "th", mention=("shape", "scale"))
    with pytest.raises(ValueError):
        C.describe(f, mention=("colour",))
    with pytest.raises(ValueError):
        C.describe(f, "fr")
    with pytest.raises(ValueError):
        C.describe([3, 0, 0, 0, 0])


def test_random_captions_read_back_and_cover_the_vocabulary():
    f = _factors(3000, 2)
    g = torch.Generator().manual_seed(5)
    caps = C.random_captions(f, g)
    assert len(caps) == 3000
    thai = sum(any("\u0E00" <= c <= "\u0E7F" for c in s) for s in caps)
    assert 1300 < thai < 1700  # p_th = 0.5
    no_ori = no_scale = 0
    for row, text in zip(f, caps):
        got = C.read(text)
        assert got["unknown"] == [] and got["conflicts"] == []
        assert got["shape"] == row[0]
        assert got["scale"] in (None, row[1])
        assert (got["x"], got["y"]) in ((None, None), C.cell(row))
        assert got["orientation"] in (None, row[2])
        no_ori += got["orientation"] is None
        no_scale += got["scale"] is None
    assert 1300 < no_ori < 1700 and 450 < no_scale < 750  # 0.5 and 0.2
    ids = set(C.encode(caps).unique().tolist())
    assert ids == set(range(C.VOCAB_SIZE))  # every token is trained (and padding occurs)
    # nothing dropped, all English / all Thai
    full = C.random_captions(f[:50], g, p_th=0.0, p_drop=0.0, p_drop_orientation=0.0)
    for row, text in zip(f[:50], full):
        assert not any("\u0E00" <= c <= "\u0E7F" for c in text)
        got = C.read(text)
        assert [got[k] for k in ("shape", "scale", "x", "y", "orientation")] == \
            [row[0], row[1], *C.cell(row), row[2]]
    only_th = C.random_captions(torch.as_tensor(f[:20]), g, p_th=1.0)
    assert all(any("\u0E00" <= c <= "\u0E7F" for c in s) for s in only_th)


def test_random_captions_follow_the_generator():
    f = _factors(64, 3)
    a = C.random_captions(f, torch.Generator().manual_seed(11))
    b = C.random_captions(f, torch.Generator().manual_seed(11))
    c = C.random_captions(f, torch.Generator().manual_seed(12))
    assert a == b and a != c
    g = torch.Generator().manual_seed(11)
    first = C.random_captions(f, g)
    assert C.random_captions(f, g) != first  # the state moves on
    state = g.get_state()
    again = C.random_captions(f, g)
    g.set_state(state)
    assert C.random_captions(f, g) == again


def test_random_captions_are_fast():
    f = _factors(64, 4)
    g = torch.Generator().manual_seed(0)
    C.random_captions(f, g)
    best = 1.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(10):
            C.random_captions(f, g)
        best = min(best, (time.perf_counter() - t0) / 10)
    assert best < 0.005, best


# -- reading user text ----------------------------------------------------------------------------
def test_unknown_english_word_is_named():
    got = C.read("a purple heart on the left")
    assert got["unknown"] == ["purple"]
    assert (got["shape"], got["x"], got["y"]) == (2, 0, 1)
    toks = C.tokenize("a purple heart on the left")
    assert [t.id is None for t in toks] == [False, True, False, False, False, False]
    assert toks[2].meaning == "shape: heart" and toks[0].meaning is None


def test_unknown_thai_word_is_one_token():
    text = "หัวใจสีม่วง ด้านซ้าย"
    toks = C.tokenize(text)
    unknown = [t for t in toks if t.id is None]
    assert [t.text for t in unknown] == ["สีม่วง"]
    got = C.read(text)
    assert got["unknown"] == ["สีม่วง"] and got["shape"] == 2 and got["x"] == 0
    # a vocabulary word that only starts a longer real word is not known; one after an
    # unknown word is found
    assert C.read("ขวาง")["unknown"] == ["ขวาง"] and C.read("ขวาง")["x"] is None
    assert C.read("กลางคืน")["scale"] is None
    got = C.read("หัวใจสีม่วงบน")
    assert got["unknown"] == ["สีม่วง"] and got["y"] == 0
    # repetition mark and Thai digits inside a run
    got = C.read("หัวใจเล็กๆ หมุน๔๕องศา")
    assert got["unknown"] == [] and (got["scale"], got["orientation"]) == (1, 5)


def test_offsets_slice_the_original_text():
    text = "A  Very LARGE Oval,top-LEFT!!\tหัวใจสีม่วง(ขวาง) rotated −45°, ๔๕ and 36.5 ☺ heart's"
    toks = C.tokenize(text)
    assert toks
    for t in toks:
        assert text[t.start:t.end] == t.text
    assert [t.text for t in toks[:6]] == ["A", "Very", "LARGE", "Oval", "top", "LEFT"]
    assert toks[1].meaning == toks[2].meaning == "scale: very large (0.9)"
    assert "−45" in [t.text for t in toks]
    assert not any(t.text in {",", "!", "(", ")", "°", "☺"} for t in toks)


def test_numbers_are_orientations():
    assert C.read("turned 40 degrees")["orientation"] == 4
    tok = [t for t in C.tokenize("turned 40 degrees") if t.text == "40"][0]
    assert tok.id == C.VOCAB.index("<deg36>") and "40 read as 36°" in tok.meaning
    assert C.read("370")["orientation"] == 1
    assert C.read("๔๕")["orientation"] == 5
    assert C.read("360")["orientation"] == 0 and C.read("358")["orientation"] == 0
    assert C.read("-90")["orientation"] == 30
    assert C.read("4.5")["orientation"] == 1 and C.read("4.4")["orientation"] == 0
    assert C.read("9" * 5000)["orientation"] == C.degrees_to_level(int("9" * 50) % 360)
    assert [C.degrees_to_level(d) for d in (0, 9, 13, 14, 351, 355, 356, 720)] == \
        [0, 1, 1, 2, 39, 39, 0, 0]


def test_scale_position_semantics_and_conflicts():
    assert C.read("a small huge heart")["conflicts"] == ["scale"]
    assert C.read("a very large heart")["scale"] == 4
    assert C.read("a large heart")["scale"] == 3
    assert C.read("หัวใจใหญ่มาก")["scale"] == 4 and C.read("หัวใจใหญ่")["scale"] == 3
    assert C.read("a very small heart")["scale"] == 1
    assert C.tokenize("very")[0].meaning is None
    assert C.read("large huge")["conflicts"] == ["scale"]
    assert C.read("very large, large")["conflicts"] == []
    for text, cell in [("at the top", (1, 0)), ("on the left", (0, 1)), ("in the middle", (1, 1)),
                       ("in the centre", (1, 1)), ("in the top left corner", (0, 0)),
                       ("near the bottom right", (2, 2)), ("at the top in the middle", (1, 0)),
                       ("ที่มุมซ้ายบน", (0, 0)), ("ใกล้มุมขวาล่าง", (2, 2)), ("ด้านบน", (1, 0)),
                       ("ด้านล่าง", (1, 2)), ("ด้านซ้าย", (0, 1)), ("ด้านขวา", (2, 1)),
                       ("ตรงกลาง", (1, 1))]:
        got = C.read(text)
        assert (got["x"], got["y"]) == cell, text
    assert C.read("a heart")["x"] is None and C.read("a heart")["y"] is None
    assert C.read("top bottom left right")["conflicts"] == ["x", "y"]
    assert C.read("a heart and a square")["conflicts"] == ["shape"]
    got = C.read("ขนาดกลาง ตรงกลาง")  # กลาง is the scale, ตรงกลาง the position
    assert (got["scale"], got["x"], got["y"]) == (2, 1, 1)


def test_mixed_language_text():
    got = C.read("a หัวใจ very ใหญ่ on the ขวา, turned ๙๐ degrees")
    assert got["unknown"] == []
    assert [got[k] for k in ("shape", "scale", "x", "y", "orientation")] == [2, 4, 2, 1, 10]


# -- encoding -------------------------------------------------------------------------------------
def test_encode_shape_padding_and_truncation():
    x = C.encode(["a purple heart", "", "heart " * 40])
    assert x.dtype == torch.long and x.shape == (3, C.MAX_TOKENS)
    a, heart = C.VOCAB.index("a"), C.VOCAB.index("heart")
    assert x[0, :2].tolist() == [a, heart] and x[0, 2:].eq(0).all()
    assert x[1].eq(0).all() and x[2].eq(heart).all()
    assert C.encode(["a heart"], max_tokens=1).tolist() == [[a]]
    assert C.encode([]).shape == (0, C.MAX_TOKENS)
    long = " ".join(["a"] * C.MAX_TOKENS) + " heart"
    got = C.read(long)
    assert got["truncated"] == ["heart"] and got["shape"] is None
    assert [t.text for t in C.truncated(C.tokenize(long))] == ["heart"]
    text = C.describe([0, 4, 39, 31, 0], "en", np.random.default_rng(0))
    ids = C.encode([text])[0]
    assert [C.VOCAB[i] for i in ids[ids > 0]] == [
        w if not w.isdigit() else "<deg351>" for w in _words(text)]


# -- bins and held-out combinations ---------------------------------------------------------------
def test_bins():
    lv = np.arange(32)
    assert C.x_bin(lv).tolist() == [0] * 11 + [1] * 10 + [2] * 11
    assert C.y_bin(lv).tolist() == C.x_bin(lv).tolist()
    assert C.x_bin(10) == 0 and C.x_bin(11) == 1 and C.y_bin(21) == 2
    assert isinstance(C.x_bin(5), int)
    assert C.cell([0, 0, 0, 3, 30]) == (0, 2)
    xb, yb = C.cell(_factors(10, 0))
    assert xb.shape == yb.shape == (10,)


def test_heldout_combos():
    assert len(C.HELDOUT_COMBOS) == 32 and C.HELDOUT_COMBOS == C._draw_heldout()
    assert all(0 <= c < C.N_COMBOS == 162 for c in C.HELDOUT_COMBOS)
    train = [C.combo_parts(c) for c in range(162) if c not in C.HELDOUT_COMBOS]
    assert {p[0] for p in train} == {0, 1, 2} and {p[1] for p in train} == set(range(6))
    assert {p[2] for p in train} == {p[3] for p in train} == {0, 1, 2}
    assert {p[:2] for p in train} == set(itertools.product(range(3), range(6)))
    f = _factors(5000, 7)
    c = C.combo(f)
    assert c.shape == (5000,) and set(c.tolist()) == set(range(162))
    for row, ci in zip(f[:50], c[:50]):
        assert C.combo_parts(ci) == (row[0], row[1], *C.cell(row))
        assert C.combo(row) == ci
    held = C.is_heldout_combo(f)
    assert held.dtype == bool and held.tolist() == [ci in C.HELDOUT_COMBOS for ci in c]
    assert 0.1 < held.mean() < 0.3


def test_combo_names():
    i = C.combo([2, 3, 0, 31, 31])
    assert C.combo_name(i) == "large heart, bottom right"
    assert C.combo_name(i, "th") == "หัวใจขนาดใหญ่ มุมขวาล่าง"
    assert C.combo_name(C.combo([0, 4, 0, 16, 16])) == "very large square, centre"
    assert C.combo_name(C.combo([1, 0, 0, 16, 0])) == "tiny ellipse, top"
    for c in range(162):  # every Thai name reads back as its combination
        got = C.read(C.combo_name(c, "th"))
        shape, scale, xb, yb = C.combo_parts(c)
        assert (got["shape"], got["scale"], got["x"], got["y"]) == (shape, scale, xb, yb)
        assert got["unknown"] == []
    with pytest.raises(ValueError):
        C.combo_name(162)
