"""Topic recovery on the built-in corpus, easy and realistic (issue 11, part 16).

For Thai and English, and for each corpus difficulty (``unsup.data.listings.generate(...,
difficulty=...)``), fit on 5,000 listings (seed 0) and measure on 1,000 held-out listings
(seed 1000, never seen in training):

- LDA: ``unsup.models.topics.fit_lda`` with ``TopicConfig(n_topics=10, iterations=200)``
  (unsup's collapsed Gibbs sampler, ``unsup.models.gibbs``, one thread);
- pLSA: ``fit_plsa`` with the same config (200 EM steps);
- gensim's ``LdaModel`` (online variational Bayes; 5 passes, 50 iterations, chunks of 2,000,
  alpha "auto", random_state 0 — the settings of bench_topics.py) on the same vocabulary.

Columns:

- *recovery*: ``unsup.metrics.topics.topic_recovery`` against the held-out corpus's truth: the
  mean cosine of Hungarian-matched pairs (learned topic, true theme), 0..1, higher is better.
  The true themes are the generator's word distributions, the same for every seed, so this
  equals recovery against the training truth; *worst* is the lowest matched cosine.
- *θ error*: the held-out listings' topic mixes (folded in under the fitted topics, topics put in
  theme order by the matching) against the mixes the generator drew for them: mean total
  variation distance, 0..1, lower is better. This one does depend on the held-out corpus.
- *dominant*: share of held-out listings whose largest topic is their largest true theme.
- *bg topics*: learned topics of which at least half of the 10 top words are background words
  (rooms, price, agency boilerplate) that belong to no theme.

Single-threaded (BLAS and the sampler); times are this machine's, measured in this run.

    python bench/bench_topics_realistic.py           # ~3-5 min on one core
    python bench/bench_topics_realistic.py --quick   # 1,500 listings, 60 iterations
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

from common import ROOT, load_average, machine  # noqa: E402  (puts the repo root on sys.path)

import numpy as np  # noqa: E402

from unsup.data.listings import BACKGROUND, N_THEMES, generate  # noqa: E402
from unsup.metrics.topics import topic_recovery  # noqa: E402
from unsup.models import topics as tm  # noqa: E402

warnings.simplefilter("ignore")
QUICK = "--quick" in sys.argv
N_TRAIN, N_HELD = (1500, 500) if QUICK else (5000, 1000)
ITERATIONS = 60 if QUICK else 200


def theta_scores(theta_hat: np.ndarray, rec: dict, truth_theta: np.ndarray) -> tuple[float, float]:
    """(mean total variation distance, dominant-theme accuracy) of folded-in mixes against
    the generator's, learned topics put in theme order by the Hungarian matching."""
    T = np.zeros_like(truth_theta, dtype=float)
    for learned, theme in zip(rec["learned"], rec["truth"]):
        T[:, theme] += theta_hat[:, learned]
    T /= np.maximum(T.sum(1, keepdims=True), 1e-12)
    tv = 0.5 * np.abs(T - truth_theta).sum(1)
    return float(tv.mean()), float((T.argmax(1) == truth_theta.argmax(1)).mean())


def background_topics(topic_word: np.ndarray, vocab: list[str], truth) -> int:
    theme_words = {truth.vocab[i] for i in np.flatnonzero(truth.topic_word.sum(0) > 0)}
    bg_words = {w for pair in BACKGROUND for w in pair} - theme_words
    top = np.argsort(-topic_word, 1)[:, :10]
    return int(sum(np.mean([vocab[i] in bg_words for i in row]) >= 0.5 for row in top))


def run(lang: str, difficulty: str) -> list[dict]:
    train = generate(N_TRAIN, seed=0, lang=lang, difficulty=difficulty)
    held = generate(N_HELD, seed=1000, lang=lang, difficulty=difficulty)
    cfg = tm.TopicConfig(n_topics=N_THEMES, iterations=ITERATIONS)
    corpus = tm.prepare(train.df["text"].tolist(), cfg)
    held_docs = corpus.encode(tm.tokenize_all(held.df["text"].tolist(), cfg.text))
    rows = []

    def record(method, seconds, tw, theta_held, settings):
        rec = topic_recovery(tw, corpus.vocab, held.truth)
        tv, dom = theta_scores(theta_held, rec, held.truth.doc_theme)
        rows.append({"lang": lang, "difficulty": difficulty, "method": method,
                     "seconds": seconds, "recovery": rec["mean"],
                     "worst": float(rec["cosine"].min()), "theta_tv": tv, "dominant": dom,
                     "bg_topics": background_topics(tw, corpus.vocab, held.truth),
                     "settings": settings, "n_words": corpus.n_words})
        print(f"  {lang} {difficulty:9s} {method:7s} {seconds:6.1f} s  recovery "
              f"{rec['mean']:.3f}  θ TV {tv:.3f}  dominant {dom:.3f}", flush=True)

    for name, fit in (("LDA", tm.fit_lda), ("pLSA", tm.fit_plsa)):
        t = time.perf_counter()
        model = fit(corpus, cfg)
        dt = time.perf_counter() - t
        record(name, dt, model.topic_word_, model.transform(held_docs), "")

    from gensim.models import LdaModel

    def bow(docs):
        out = []
        for d in docs:
            ids, counts = np.unique(d, return_counts=True)
            out.append([(int(i), int(c)) for i, c in zip(ids, counts)])
        return out

    t = time.perf_counter()
    g = LdaModel(bow(corpus.docs), num_topics=N_THEMES, id2word=dict(enumerate(corpus.vocab)),
                 passes=5, iterations=50, chunksize=2000, random_state=0, alpha="auto",
                 eta=None)
    dt = time.perf_counter() - t
    theta = np.zeros((len(held_docs), N_THEMES))
    for d, b in enumerate(bow(held_docs)):
        for k, p in g.get_document_topics(b, minimum_probability=0.0):
            theta[d, k] = p
    record("gensim", dt, g.get_topics(), theta, "")
    return rows


def seeds_table() -> list[str]:
    """How often a fit escapes the split/merge local optimum: LDA on the easy 5,000-listing
    corpus of each language with 6 seeds, under the app's schedule (4 chains × 60 sweeps) and
    the earlier one (3 chains × 25 sweeps), 200 sweeps in all."""
    out = ["", "Local optima over seeds (easy corpus, K = 10, 200 sweeps; seeds 0, 10, ..., 50; "
           "recovery per seed, and how many reach 0.98):", "",
           "| language | chains × sweeps before the choice | recovery per seed | ≥ 0.98 |",
           "| --- | --- | --- | --- |"]
    n = N_TRAIN
    for lang in ("th", "en", "mixed"):
        data = generate(n, seed=0, lang=lang)
        base = tm.TopicConfig(n_topics=N_THEMES, iterations=ITERATIONS)
        corpus = tm.prepare(data.df["text"].tolist(), base)
        for n_init, first in ((4, 60), (3, 25)):
            recs = []
            for seed in range(0, 60, 10):
                cfg = tm.TopicConfig(n_topics=N_THEMES, iterations=ITERATIONS, seed=seed,
                                     n_init=n_init, init_sweeps=first)
                model = tm.fit_lda(corpus, cfg)
                recs.append(topic_recovery(model.topic_word_, corpus.vocab, data.truth)["mean"])
            out.append(f"| {lang} | {n_init} × {first} | {', '.join(f'{r:.3f}' for r in recs)} "
                       f"| {sum(r >= 0.98 for r in recs)} of {len(recs)} |")
            print(out[-1], flush=True)
    return out


def main() -> None:
    rows = []
    load = load_average()
    t0 = time.perf_counter()
    for lang in ("th", "en"):
        for difficulty in ("easy", "realistic"):
            rows += run(lang, difficulty)
    lines = [
        "## Topic recovery, easy and realistic corpora", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()} (load average before the "
        f"run: {load}).", "",
        f"Topic recovery, K = {N_THEMES}, {N_TRAIN:,} training listings (seed 0), "
        f"{N_HELD:,} held-out (seed 1000); LDA and pLSA {ITERATIONS} iterations; "
        f"one thread; {time.perf_counter() - t0:.0f} s in all. "
        "`python bench/bench_topics_realistic.py`" + (" --quick" if QUICK else ""), "",
        "| language | corpus | method | vocabulary | fit (s) | recovery ↑ | worst theme ↑ "
        "| held-out θ error ↓ | dominant theme ↑ | background topics |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['lang']} | {r['difficulty']} | {r['method']} | {r['n_words']} "
                     f"| {r['seconds']:.1f} | {r['recovery']:.3f} | {r['worst']:.3f} "
                     f"| {r['theta_tv']:.3f} | {r['dominant']:.3f} | {r['bg_topics']} |")
    lines += seeds_table()
    print("\n".join(lines))
    if not QUICK:
        (ROOT / "bench" / "results" / "topics_realistic.md").write_text(
            "\n".join(lines) + "\n", encoding="utf-8")

if __name__ == "__main__":
    main()
