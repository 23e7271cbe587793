"""Part 6 of the topic-map issue: on the built-in corpus, LDA finds the generator's themes."""

import numpy as np
import pytest

from unsup.data.listings import N_THEMES, distance_to_coast_km, generate
from unsup.metrics.topics import topic_recovery
from unsup.models import topics as tm
from unsup.metrics.topics import developer_niches


@pytest.fixture(scope="module")
def fitted():
    train = generate(3000, seed=0, lang="th")
    cfg = tm.TopicConfig(n_topics=N_THEMES, iterations=120)
    corpus = tm.prepare(train.df["text"].tolist(), cfg)
    model = tm.fit_lda(corpus, cfg)
    held = generate(2000, seed=7, lang="th")  # held-out listings, another seed
    theta = model.transform(model.encode(held.df["text"].tolist()))
    rec = topic_recovery(model.topic_word_, model.vocab_, train.truth)
    return {"train": train, "corpus": corpus, "model": model, "held": held, "theta": theta,
            "rec": rec}


def test_topics_match_the_generator_themes(fitted):
    assert fitted["rec"]["mean"] >= 0.85
    held_rec = topic_recovery(fitted["model"].topic_word_, fitted["model"].vocab_,
                              fitted["held"].truth)
    assert held_rec["mean"] >= 0.85


def test_sea_view_listings_lie_nearer_the_coast(fitted):
    sea = [k for k, t in fitted["rec"]["theme_of"].items() if t == "sea_view"][0]
    held = fitted["held"].df
    dist = distance_to_coast_km(held["lat"], held["lon"])
    dom = fitted["theta"].argmax(1)
    assert (dom == sea).sum() > 50
    assert np.median(dist[dom == sea]) < 0.2 * np.median(dist[dom != sea])


def test_developer_niche_ranks_the_true_favourite_in_its_top_two(fitted):
    held = fitted["held"]
    lift = developer_niches(held.df["developer"], fitted["theta"])
    theme_of = fitted["rec"]["theme_of"]
    assert len(lift) == len(held.truth.developer_favourite)
    for dev, fav in held.truth.developer_favourite.items():
        top2 = [theme_of[int(k)] for k in lift.loc[dev].sort_values(ascending=False).index[:2]]
        assert fav in top2, (dev, fav, top2)


def test_hdp_suggests_k_within_30_percent(fitted):
    k = tm.suggest_k_hdp(fitted["corpus"], seed=0)["k"]
    assert 0.7 * N_THEMES <= k <= 1.3 * N_THEMES


def test_same_input_and_settings_give_the_same_topics(fitted):
    cfg = fitted["model"].config
    sub = tm.prepare(fitted["train"].df["text"].tolist()[:400], cfg)
    a = tm.fit_lda(sub, tm.TopicConfig(n_topics=5, iterations=20))
    b = tm.fit_lda(sub, tm.TopicConfig(n_topics=5, iterations=20))
    np.testing.assert_array_equal(a.topic_word_, b.topic_word_)
    np.testing.assert_array_equal(a.doc_topic_, b.doc_topic_)
