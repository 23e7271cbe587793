"""Translation without parallel text (issue 25): the recipe's pieces on known answers, the
shipped alignment's card against a recomputation, and the page."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import wait_job
from unsup import checkpoints, paths
from unsup.data import bilingual as B
from unsup.models import align as A
from unsup.recipes import translation as R

ROOT = Path(__file__).resolve().parent.parent


def shipped(name: str):
    path = checkpoints.weights_path(paths.SHIPPED_DIR / name)
    if not path.exists():
        pytest.skip(f"{name} is not shipped")
    return checkpoints.load(path)


# -- pieces ---------------------------------------------------------------------------------------
def test_vocab_encodes_unknowns_and_copies_them_back_in_order():
    v = R.Vocab(["sea", "view", "condo"])
    ids = v.encode(["condo", "123", "sea", "view", "4.5"])
    assert ids == [6, R.UNK, 4, 5, R.UNK, R.EOS]
    # a translation that writes UNK twice takes the source's unknown tokens in order
    out = v.decode([4, R.UNK, 5, R.UNK, R.UNK, R.EOS, 6], source=["x", "123", "y", "4.5"])
    assert out == ["sea", "x", "view", "123", "y"]  # stops at EOS; x, y unknown too
    assert v.decode([R.PAD, 1, 6, R.EOS]) == ["condo"]  # BOS / PAD never written
    assert len(v.encode(["sea"] * 500)) == R.MAX_LEN  # cut to the longest sentence


def test_word_by_word_copies_numbers_and_unknown_words():
    table = {"ทะเล": [("sea", 0.9)], "18000": [("19000", 0.8)], "วิว": [("view", 0.7)]}
    assert R.word_by_word(["วิว", "ทะเล", "18000", "ใหม่"], table) == ["view", "sea", "18000",
                                                                        "ใหม่"]
    assert R.is_number("3.5") and R.is_number("1,200") and not R.is_number("bts")


def test_the_supervised_half_of_the_lexicon_never_scores_itself():
    sw = list(dict.fromkeys(w for w, _, c in B.LEXICON if c))[:120]
    tw = sorted({e for _, e, c in B.LEXICON if c})
    pairs, test = R.lexicon_split(sw, tw)
    given = {sw[i] for i in pairs[:, 0].tolist()}
    assert given and test and not (given & set(test))
    usable = {w for w in sw if w in B.truth("th-en")}
    assert given | set(test) == usable and abs(len(given) - len(test)) <= 1
    assert all(tw[j] in B.truth("th-en")[sw[i]] for i, j in pairs.tolist())


def test_word_scores_of_a_perfect_map_are_perfect_and_of_a_wrong_one_near_zero():
    """Aligner tables built from the lexicon itself: Thai word i and its first English
    translation share a random vector, so the identity map is the truth and a permuted map is
    not."""
    pairs = [(t, e) for t, e, c in B.LEXICON if c]
    th, en, seen_t, seen_e = [], [], set(), set()
    for t, e in pairs:
        if t not in seen_t and e not in seen_e:
            th.append(t)
            en.append(e)
            seen_t.add(t)
            seen_e.add(e)
    g = torch.Generator().manual_seed(0)
    V = A.normalize(torch.randn(len(th), 32, generator=g))

    class Fake:
        src_emb, tgt_emb = V, V
        W = torch.eye(32)
        card_ = {"data": {"words": {"th": th, "en": en}}}

    s = R.word_scores(Fake(), torch.eye(32))
    assert s["th_en"]["p1"] == 1.0 and s["en_th"]["p1"] == 1.0 and s["th_en"]["n"] == len(th)
    assert s["half"]["supervised"]["p1"] == 1.0  # the half given recovers the identity
    perm = torch.eye(32)[torch.randperm(32, generator=g)]
    assert R.word_scores(Fake(), perm)["th_en"]["p1"] < 0.1


def test_sentence_rows_pair_listings_and_pad():
    vth, ven = R.Vocab(["ขาย", "คอนโด"]), R.Vocab(["condo", "for", "sale"])
    rows = R.sentence_rows([["ขาย", "คอนโด"]], [["condo", "for", "sale", "x"]], vth, ven)
    assert rows.shape == (1, 2, R.MAX_LEN)
    assert rows[0, 0, :3].tolist() == [4, 5, R.EOS] and rows[0, 0, 3:].eq(R.PAD).all()
    assert rows[0, 1, :5].tolist() == [4, 5, 6, R.UNK, R.EOS]


# -- the shipped alignment -------------------------------------------------------------------------
def test_the_shipped_vecmap_alignment_meets_the_target_and_its_card_is_recomputed():
    model = shipped("align-vecmap")
    card = model.card_
    assert card["command"] == "python -m unsup train align-vecmap --out checkpoints"
    x = card["extra_metrics"]
    again = R.word_scores(model)
    for key in ("th_en", "en_th", "identical", "frequency"):
        assert again[key] == x[key], key
    assert again["half"] == x["half"]
    # the target: unsupervised precision@1 >= 0.60 on the lexicon's content words
    assert x["th_en"]["p1"] >= 0.60 and x["th_en"]["n"] >= 200
    # and it beats the baselines that need no dictionary
    assert x["th_en"]["p1"] > x["identical"]["p1"] > x["frequency"]["p1"]
    # the map is orthogonal (the reverse direction uses its transpose)
    W = model.W.double()
    assert torch.allclose(W @ W.T, torch.eye(W.shape[0], dtype=torch.float64), atol=1e-4)


def test_the_shipped_alignment_translates_known_words():
    model = shipped("align-vecmap")
    table = R.translation_table(model, k=5)
    truth = B.truth("th-en")
    for th in ("ทะเล", "คอนโด", "สระว่ายน้ำ"):
        if th in table["th-en"]:
            assert any(w in truth[th] for w, _ in table["th-en"][th]), th


# -- the page ----------------------------------------------------------------------------------------
def run_page(section: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "translation.py"), default_timeout=120)
    if section:
        at.session_state["tr_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_opens_on_the_shipped_alignment_with_its_numbers():
    model = shipped("align-vecmap")
    at = run_page()
    scores = at.dataframe[0].value
    x = model.card_["extra_metrics"]
    first = scores.iloc[0]
    assert "no dictionary" in first["method"]
    assert first["P@1"] == f"{100 * x['th_en']['p1']:.1f}%"
    assert any("Supervised Procrustes" in m for m in scores["method"])
    if checkpoints.weights_path(paths.SHIPPED_DIR / "align-muse").exists():
        muse = checkpoints.find("align-muse").card["extra_metrics"]["th_en"]
        row = scores[scores["method"].str.startswith("MUSE")].iloc[0]
        assert row["P@1"] == f"{100 * muse['p1']:.1f}%"
    spec = at.get("plotly_chart")[0].proto.spec
    assert "Thai" in spec and "English" in spec
    nn = at.dataframe[1].value  # the default word ทะเล: its neighbours, the lexicon's marked
    assert len(nn) == 5
    assert "✓" in set(nn["in the lexicon"])


def test_the_alignment_slider_moves_the_thai_cloud_only():
    shipped("align-vecmap")
    a = run_page(tr_t=0.0).get("plotly_chart")[0].proto.spec
    b = run_page(tr_t=1.0).get("plotly_chart")[0].proto.spec
    import json

    fa, fb = json.loads(a), json.loads(b)
    assert [d["name"] for d in fa["data"]] == ["word ↔ its translation", "Thai", "English"]
    assert fa["data"][2]["x"] == fb["data"][2]["x"]  # English stays
    assert fa["data"][1]["x"] != fb["data"][1]["x"]  # Thai moves
    # the caption's numbers: the mean cosine of a word and its translation rises
    for at in (run_page(tr_t=1.0),):
        cap = next(c.value for c in at.caption if "Mean cosine between a Thai word" in c.value)
        import re

        before, now = (float(x) for x in re.findall(r"(-?\d\.\d{3})", cap)[:2])
        assert now > before + 0.3


def test_the_translate_section_translates_a_held_out_listing_word_by_word():
    shipped("align-vecmap")
    at = run_page("Translate a listing")
    lines = [m.value for m in at.markdown]
    wbw = next(v for v in lines if v.startswith("**Word by word:**"))
    ref = next(v for v in lines if v.startswith("**Reference"))
    assert len(wbw.split()) > 10 and len(ref.split()) > 10
    bleu = at.dataframe[0].value
    assert bleu["system"].iloc[0].startswith("Word by word")


def test_unknown_words_are_named_not_silently_dropped():
    shipped("align-vecmap")
    at = run_page("Translate a listing", tr_dir="English → Thai",
                  **{"tr_text_en-th_0": "condo with a flux capacitor near the sea"})
    warn = " ".join(w.value for w in at.warning)
    assert "flux" in warn and "capacitor" in warn


def test_the_train_form_offers_both_methods():
    at = run_page("Train")
    from unsup.ui.translation import METHODS

    assert at.selectbox(key="tr_method").options == list(METHODS.values())
    assert at.button(key="tr_start").label == "Start training"


def test_a_page_job_aligns_measures_and_resumes(tmp_path, monkeypatch):
    """The Train section's job: a Vecmap run on the shipped word vectors, measured against the
    lexicon when it ends (its words travel with it), and a stopped run resumed to its end."""

    from unsup.jobs import ThreadRunner

    shipped("align-vecmap")
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    runner = ThreadRunner()

    def wait(job):
        return wait_job(runner, job)

    snap = wait(runner.submit(R.training_spec(R.KIND_VECMAP, steps=30, seed=3)))
    assert snap.status == "done", snap.error
    card = checkpoints.load(snap.checkpoint).card_
    assert card["step"] == 30 and card["metrics"]["p1"] > 0.3  # it has found the rotation
    assert card["metrics"]["extra_metrics"]["th_en"]["n"] >= 200
    again = wait(runner.submit(R.training_spec(steps=10, resume=snap.checkpoint)))
    assert again.status == "done", again.error
    resumed = checkpoints.load(again.checkpoint)
    assert resumed.step_ == 40 and resumed.kind == R.KIND_VECMAP


def test_an_empty_listing_asks_for_text_instead_of_translating_nothing():
    shipped("align-vecmap")
    at = run_page("Translate a listing", **{"tr_text_th-en_0": "   "})
    assert any("Type or paste a listing" in i.value for i in at.info)
    assert not any(m.value.startswith("**Word by word:**") for m in at.markdown)


def test_the_home_card_draws_the_aligned_pairs():
    shipped("align-vecmap")
    import numpy as np

    from unsup.families import pages

    info = next(p for p in pages() if p.key == "translation")
    assert info.thumbnail == "unsup.recipes.translation:thumbnail"
    img = np.asarray(R.thumbnail())
    assert img.shape == (200, 320, 3)
    red = ((img[..., 0] > 180) & (img[..., 1] < 80)).sum()
    blue = ((img[..., 2] > 150) & (img[..., 0] < 80)).sum()
    assert red > 300 and blue > 300  # 30 Thai and 30 English dots
