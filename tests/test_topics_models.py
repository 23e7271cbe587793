"""pLSA's EM, LDA's reproducibility, folding-in and model files (tiny data)."""

import io
import pickle

import numpy as np
import pytest

from unsup.models import topics as tm
from unsup.text import Corpus, TextConfig, build_corpus


def _block_corpus(n_docs=60, seed=0):
    """Three topics over disjoint words: each document draws from one or two of them."""
    rng = np.random.default_rng(seed)
    groups = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)], [f"c{i}" for i in range(6)]]
    docs = []
    for d in range(n_docs):
        g = d % 3
        words = list(rng.choice(groups[g], 14)) + list(rng.choice(groups[(g + d // 3) % 3], 4))
        docs.append(words)
    return build_corpus(docs, TextConfig(min_df=1, max_df=1.0))


def test_plsa_em_never_lowers_training_likelihood():
    corpus = _block_corpus()
    model = tm.fit_plsa(corpus, tm.TopicConfig(n_topics=3, iterations=40, method="plsa"))
    h = np.array(model.history_)
    assert len(h) == 41
    assert np.all(np.diff(h) >= -1e-9)
    assert h[-1] > h[0]


def test_lda_finds_the_three_blocks_and_is_reproducible():
    corpus = _block_corpus()
    cfg = tm.TopicConfig(n_topics=3, iterations=60, text=TextConfig(min_df=1, max_df=1.0))
    m1, m2 = tm.fit_lda(corpus, cfg), tm.fit_lda(corpus, cfg)
    np.testing.assert_array_equal(m1.topic_word_, m2.topic_word_)
    for k in range(3):
        top = {w[0] for w, _ in m1.top_words(k, 5)}
        assert len(top) == 1  # all five top words come from one block


def test_fold_in_recovers_a_document_mix():
    corpus = _block_corpus()
    model = tm.fit_lda(corpus, tm.TopicConfig(n_topics=3, iterations=60))
    theta = model.transform(corpus.encode([["a1", "a2", "a3", "a4"], ["zzz"]]))
    assert theta.shape == (2, 3) and np.allclose(theta.sum(1), 1)
    assert theta[0].max() > 0.8
    np.testing.assert_allclose(theta[1], model.alpha_ / model.alpha_.sum())


def test_formula_is_in_the_lecture_form():
    corpus = _block_corpus()
    model = tm.fit_lda(corpus, tm.TopicConfig(n_topics=3, iterations=30))
    f = model.formula(0, 3)
    assert f.count('*"') == 3 and f.count(" + ") == 2 and f[0] == "0"


def test_save_load_round_trip(tmp_path):
    corpus = _block_corpus()
    model = tm.fit_lda(corpus, tm.TopicConfig(n_topics=3, iterations=20))
    model.labels_ = ["A", "B", "C"]
    path = model.save(tmp_path / "m.npz", {"name": "m"})
    back = tm.load(path)
    np.testing.assert_allclose(back.topic_word_, model.topic_word_, atol=1e-6)
    assert back.vocab_ == model.vocab_ and back.labels_ == ["A", "B", "C"]
    assert back.config == model.config
    assert (tmp_path / "m.json").exists()


def test_loading_a_pickle_is_refused_with_a_clear_message():
    with pytest.raises(tm.TopicModelError, match="pickle"):
        tm.from_bytes(pickle.dumps({"topic_word": np.ones((2, 2))}), "evil.pkl")
    buf = io.BytesIO()
    np.savez(buf, vocab=np.array(["a"], dtype=object), topic_word=np.ones((1, 1)),
             alpha=np.ones(1), card=np.zeros(1, np.uint8))
    with pytest.raises(tm.TopicModelError, match="pickle"):
        tm.from_bytes(buf.getvalue(), "objects.npz")
    with pytest.raises(tm.TopicModelError):
        tm.from_bytes(b"not a model", "x.npz")


def test_plsa_overfits_held_out_documents_more_than_lda():
    corpus = _block_corpus(150, seed=1)
    train = Corpus(corpus.vocab, corpus.docs[:120], corpus.df)
    test = corpus.docs[120:]
    lda = tm.fit_lda(train, tm.TopicConfig(n_topics=6, iterations=80))
    plsa = tm.fit_plsa(train, tm.TopicConfig(n_topics=6, iterations=80, method="plsa"))
    assert plsa.perplexity(test) > lda.perplexity(test)


@pytest.mark.slow
def test_topic_preset_trains_saves_and_evals_the_same_numbers(tmp_path):
    """The family's preset recipe end to end on a short budget: the card's held-out numbers are
    what a recomputation from the saved file gives."""
    from unsup import families
    from unsup.recipes import topics as recipe

    fam, preset = families.of_preset("topics-en-5000")
    assert fam is recipe.FAMILY and preset.kind == "topics"
    path = recipe.train(preset, steps=30, out_dir=tmp_path, sweep=False)
    model = fam.load_model(path)
    card = model.card_
    assert card["command"] == "python -m unsup train topics-en-5000 --steps 30"
    again = recipe.evaluate(model)
    for k in ("perplexity_heldout", "npmi_heldout", "recovery_cosine"):
        assert again[k] == pytest.approx(card["metrics"][k], rel=1e-6), k
    assert 0 < card["metrics"]["recovery_cosine"] <= 1


def test_builtin_table_cache_returns_exactly_the_generated_listings():
    """Issue 11.18: the page reads the built-in listings from a disk cache; it must be the very
    table the generator makes (texts, places, dates, types)."""
    import pandas as pd

    from unsup.recipes import topics as recipe

    fresh = recipe.builtin_corpus("en", 300, 3).df
    first = recipe.builtin_table("en", 300, 3)  # makes the cache file
    again = recipe.builtin_table("en", 300, 3)  # reads it back
    pd.testing.assert_frame_equal(first.reset_index(drop=True), fresh.reset_index(drop=True))
    pd.testing.assert_frame_equal(again.reset_index(drop=True), fresh.reset_index(drop=True))
