"""Benchmark of the topic-map page (issue 3, part 7). Writes bench/results/topics.md.

1. LDA fit time, K=20, on 10,000 and 100,000 built-in Thai listings (tokenization timed apart).
2. unsup's own Gibbs sampler against tomotopy (the engine before it), gensim's LdaModel and scikit-learn's LatentDirichletAllocation on the same
   10,000-listing corpus at K = the true number of themes, with topic recovery (Hungarian-matched
   cosine to the generator's themes) for each; times as ratios from this one run.
3. The page: opening on the built-in default, and a rerun after a filter change with 100,000
   listings (AppTest, in process).

    python bench/bench_topics.py            # everything (~5-8 min on 2 busy cores)
    python bench/bench_topics.py --quick    # smaller corpora, to check the script
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings

from common import ROOT, run_fresh, write_section  # also puts the repo root on sys.path

import numpy as np  # noqa: E402

from unsup.data.listings import N_THEMES, generate  # noqa: E402
from unsup.metrics.topics import topic_recovery  # noqa: E402
from unsup.models import topics as tm  # noqa: E402

warnings.simplefilter("ignore")
QUICK = "--quick" in sys.argv


def fit_times(n: int) -> tuple[float, float]:
    """(tokenize + vocabulary seconds, fit seconds) for K=20 on n listings."""
    listings = generate(n, seed=0, lang="th")
    cfg = tm.TopicConfig(n_topics=20)
    t0 = time.perf_counter()
    corpus = tm.prepare(listings.df["text"].tolist(), cfg)
    t1 = time.perf_counter()
    tm.fit_lda(corpus, cfg)
    t2 = time.perf_counter()
    print(f"  n={n:,}: prepare {t1 - t0:.1f} s, fit {t2 - t1:.1f} s", flush=True)
    return t1 - t0, t2 - t1


def fit_tomotopy(corpus, cfg) -> np.ndarray:
    """tomotopy's LDA (the app's engine before its own sampler) on the schedule of
    ``tm.fit_lda``: 4 chains of ``init_sweeps``, the most likely one continued to
    ``iterations``, alpha optimised every 10 sweeps; its topic-word matrix in corpus order."""
    import tomotopy as tp

    words = [[corpus.vocab[i] for i in d] for d in corpus.docs if len(d)]
    best = None
    for s in range(4):
        m = tp.LDAModel(k=cfg.n_topics, alpha=cfg.alpha, eta=cfg.eta, seed=cfg.seed + s)
        m.optim_interval = 10
        for w in words:
            m.add_doc(w)
        m.train(cfg.init_sweeps, workers=1)
        if best is None or m.ll_per_word > best.ll_per_word:
            best = m
    best.train(cfg.iterations - cfg.init_sweeps, workers=1)
    pos = {w: i for i, w in enumerate(corpus.vocab)}
    tw = np.zeros((cfg.n_topics, len(corpus.vocab)))
    for k in range(cfg.n_topics):
        tw[k, [pos[w] for w in best.used_vocabs]] = best.get_topic_word_dist(k)
    return tw / tw.sum(1, keepdims=True)


def engines(n: int) -> list[tuple[str, float, float, str]]:
    """Each engine's (name, seconds, recovery, settings) on the same corpus at K = N_THEMES."""
    listings = generate(n, seed=0, lang="th")
    cfg = tm.TopicConfig(n_topics=N_THEMES)
    corpus = tm.prepare(listings.df["text"].tolist(), cfg)
    truth = listings.truth
    out = []

    t = time.perf_counter()
    model = tm.fit_lda(corpus, cfg)
    dt = time.perf_counter() - t
    out.append(("unsup's Gibbs sampler (numba)", dt, topic_recovery(model.topic_word_,
                                                                   corpus.vocab, truth)["mean"],
                "collapsed Gibbs, 4 starting chains × 60 sweeps, best + 90, 1 thread; "
                "resumes exactly"))
    print(f"  unsup {dt:.1f} s", flush=True)

    t = time.perf_counter()
    tw = fit_tomotopy(corpus, cfg)
    dt = time.perf_counter() - t
    out.append(("tomotopy LDAModel", dt, topic_recovery(tw, corpus.vocab, truth)["mean"],
                "collapsed Gibbs with sparse sampling, the same schedule, 1 thread; cannot "
                "resume exactly"))
    print(f"  tomotopy {dt:.1f} s", flush=True)

    from gensim.models import LdaModel

    bow = [list(zip(*np.unique(d, return_counts=True))) for d in corpus.docs]
    bow = [[(int(i), int(c)) for i, c in doc] for doc in bow]
    id2word = dict(enumerate(corpus.vocab))
    t = time.perf_counter()
    g = LdaModel(bow, num_topics=N_THEMES, id2word=id2word, passes=5, iterations=50,
                 chunksize=2000, random_state=0, alpha="auto", eta=None)
    dt = time.perf_counter() - t
    out.append(("gensim LdaModel", dt, topic_recovery(g.get_topics(), corpus.vocab,
                                                      truth)["mean"],
                "online variational Bayes, 5 passes, chunks of 2,000"))
    print(f"  gensim {dt:.1f} s", flush=True)

    from sklearn.decomposition import LatentDirichletAllocation

    X = corpus.counts()
    t = time.perf_counter()
    sk = LatentDirichletAllocation(n_components=N_THEMES, learning_method="batch", max_iter=20,
                                   random_state=0, n_jobs=1).fit(X)
    dt = time.perf_counter() - t
    comp = sk.components_ / sk.components_.sum(1, keepdims=True)
    out.append(("scikit-learn LatentDirichletAllocation", dt,
                topic_recovery(comp, corpus.vocab, truth)["mean"],
                "batch variational Bayes, 20 iterations, 1 job"))
    print(f"  sklearn {dt:.1f} s", flush=True)
    return out


def page(n: int) -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=600)
    t = time.perf_counter()
    at.run()
    out["open_default"] = time.perf_counter() - t
    at2 = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=600)
    t = time.perf_counter()
    at2.run()
    out["reopen_default"] = time.perf_counter() - t
    t = time.perf_counter()
    at.select_slider(key="topic_n").set_value(n).run()
    out["first_large"] = time.perf_counter() - t
    assert not at.exception, at.exception

    def points():
        from unsup.viz import topics as tv

        return len(tv.deck_points(at.get("deck_gl_json_chart")[0].proto.json))

    out["points_all"] = points()
    types = [m for m in at.multiselect if m.label == "Property type"][0]
    every = list(types.options)
    times, shown = [], []
    for sel in (every[:3], every[1:5], every[:1], every):
        types = [m for m in at.multiselect if m.label == "Property type"][0]
        t = time.perf_counter()
        types.set_value(sel).run()
        times.append(time.perf_counter() - t)
        shown.append(points())
    topics = [m for m in at.multiselect if m.label == "Dominant topic"][0]
    t = time.perf_counter()
    topics.set_value(list(topics.value)[:4]).run()
    times.append(time.perf_counter() - t)
    shown.append(points())
    assert not at.exception, at.exception
    out["rerun"] = times
    out["shown"] = shown
    return out


def main() -> None:
    t_all = time.perf_counter()
    sizes = (2_000, 10_000) if QUICK else (10_000, 100_000)
    print("LDA K=20 fits", flush=True)
    fits = {n: fit_times(n) for n in sizes}
    print("engines", flush=True)
    eng = engines(2_000 if QUICK else 10_000)
    print("page", flush=True)
    pg = page(20_000 if QUICK else 100_000)
    cold = float(run_fresh(
        "import time,sys;sys.path.insert(0,'.');"
        "t=time.perf_counter();from streamlit.testing.v1 import AppTest;"
        f"at=AppTest.from_file('{ROOT / 'app_pages' / 'topic_maps.py'}',default_timeout=600);at.run();"
        "print(time.perf_counter()-t)").strip().splitlines()[-1])

    def verdict(ok):
        return "✅" if ok else "❌"

    n1, n2 = sizes
    rows = []
    for n, limit in ((n1, 10), (n2, 120)):
        prep, fit = fits[n]
        chains = ("4 starting chains × 60 sweeps, best + 90" if n <= 50_000
                  else "1 chain × 150 sweeps")
        rows.append((f"LDA fit, K=20, {n:,} listings (unsup's sampler, {chains}, 1 thread)",
                     f"{fit:.1f} s (+ {prep:.1f} s tokenizing)", f"≤ {limit} s",
                     verdict(fit <= limit)))
    base = eng[0][1]
    for name, dt, rec, how in eng:
        rows.append((f"{name} ({how}), K={N_THEMES}", f"{dt:.1f} s = {dt / base:.2f}× unsup's; "
                     f"recovery cosine {rec:.3f}", "comparable recovery", ""))
    rr = pg["rerun"]
    rows += [
        ("page open, built-in default (fresh interpreter, cold imports)", f"{cold:.1f} s",
         "< 3 s warm", ""),
        ("page open, built-in default (warm process, first session)",
         f"{pg['open_default']:.2f} s", "< 3 s", verdict(pg["open_default"] < 3)),
        ("page reopen, built-in default (cached model and corpus)",
         f"{pg['reopen_default']:.2f} s", "< 3 s", verdict(pg["reopen_default"] < 3)),
        (f"first view of {pg['points_all']:,}-point map after choosing "
         f"{(20_000 if QUICK else 100_000):,} listings (generate, tokenize, fold in; cached)",
         f"{pg['first_large']:.1f} s", "once", ""),
        (f"page rerun after a filter change, {(20_000 if QUICK else 100_000):,} listings "
         f"({len(rr)} changes)", f"median {statistics.median(rr):.2f} s, max {max(rr):.2f} s",
         "≤ 1 s", verdict(statistics.median(rr) <= 1.0)),
    ]
    notes = (
        f"Dots on the map after each filter change: {', '.join(f'{s:,}' for s in pg['shown'])} "
        f"(scatter mode draws at most 60,000, an even sample). Built-in Thai corpus "
        f"(`unsup.data.listings.generate`, seed 0); recovery = mean cosine of Hungarian-matched "
        f"topic-word distributions against the generator's {N_THEMES} themes. Total bench "
        f"time {time.perf_counter() - t_all:.0f} s. `python bench/bench_topics.py`"
        + (" --quick (smaller corpora)" if QUICK else ""))
    write_section("topics", "Topic maps (LDA)", rows, notes)


if __name__ == "__main__":
    main()
