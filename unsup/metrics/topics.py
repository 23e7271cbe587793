"""Topic-model metrics: coherence (NPMI and C_V), Hungarian matching of topics to a known truth.

Held-out perplexity lives with the model (:meth:`unsup.models.topics.TopicModel.perplexity`),
since it needs the model's folding-in.

Coherence follows Röder, Both & Hinneburg (2015), "Exploring the space of topic coherence
measures": with P(w) the fraction of documents holding w and P(w_i, w_j) the fraction holding both,

    NPMI(w_i, w_j) = log(P(w_i, w_j) / (P(w_i) P(w_j))) / -log P(w_i, w_j)     (-1..1)

a topic's NPMI is the mean over pairs of its top words. C_V gives every top word the context
vector v_i = (NPMI(w_i, w_j))_j over the top words, and scores the mean cosine between each v_i
and the sum of all of them. Röder et al. count co-occurrence in sliding windows of 110 words;
listings are shorter than that, so a whole document is one window here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    import pandas as pd
# pandas and scipy.optimize are imported where used: loading any checkpoint imports every
# family, this module included, and the two cost about a second of a page's cold open

EPS = 1e-12


def _cooccurrence(X: sparse.spmatrix, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(w) for ``words`` and P(w_i, w_j) from a document-term matrix (documents as windows)."""
    B = (X[:, words] > 0).astype(np.float64).tocsc()
    n = max(1, X.shape[0])
    joint = np.asarray((B.T @ B).todense()) / n
    return np.diag(joint).copy(), joint


def npmi_matrix(X: sparse.spmatrix, words: np.ndarray) -> np.ndarray:
    """NPMI between every pair of ``words`` (ids into X's columns); diagonal 1."""
    p, joint = _cooccurrence(X, np.asarray(words))
    pmi = np.log((joint + EPS) / (np.outer(p, p) + EPS))
    out = pmi / (-np.log(joint + EPS))
    out[joint <= 0] = -1.0
    np.fill_diagonal(out, 1.0)
    return out


def coherence(topic_words: list[np.ndarray], X: sparse.spmatrix) -> dict[str, np.ndarray]:
    """NPMI and C_V of each topic, given its top word ids and a (docs, words) count matrix."""
    npmi, cv = [], []
    X = sparse.csr_matrix(X)
    for words in topic_words:
        words = np.asarray(words)
        m = npmi_matrix(X, words)
        n = len(words)
        iu = np.triu_indices(n, 1)
        npmi.append(float(m[iu].mean()) if n > 1 else 0.0)
        total = m.sum(0)
        cos = (m @ total) / (np.linalg.norm(m, axis=1) * np.linalg.norm(total) + EPS)
        cv.append(float(cos.mean()))
    return {"npmi": np.array(npmi), "c_v": np.array(cv)}


def cosine_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of A (k1, v) with every row of B (k2, v)."""
    A = A / (np.linalg.norm(A, axis=1, keepdims=True) + EPS)
    B = B / (np.linalg.norm(B, axis=1, keepdims=True) + EPS)
    return A @ B.T


def hungarian_match(learned: np.ndarray, truth: np.ndarray) -> dict:
    """Pair learned topics with true themes one to one so that the summed cosine is largest.

    Returns ``{"learned": idx, "truth": idx, "cosine": per-pair cosines, "mean": mean}``;
    ``truth[i]`` is the theme matched to learned topic ``learned[i]``.
    """
    C = cosine_matrix(np.asarray(learned, float), np.asarray(truth, float))
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(-C)
    return {"learned": r, "truth": c, "cosine": C[r, c], "mean": float(C[r, c].mean()),
            "matrix": C}


def align_truth(truth_vocab: list[str], truth_topic_word: np.ndarray,
                vocab: list[str]) -> np.ndarray:
    """Re-express true word distributions (over ``truth_vocab``) over a model's ``vocab``
    (words the model lacks are dropped; words the truth lacks get 0)."""
    pos = {w: i for i, w in enumerate(vocab)}
    out = np.zeros((truth_topic_word.shape[0], len(vocab)))
    for j, w in enumerate(truth_vocab):
        if w in pos:
            out[:, pos[w]] = truth_topic_word[:, j]
    return out


def topic_recovery(model_topic_word: np.ndarray, vocab: list[str], truth) -> dict:
    """Hungarian matching of a model's topics to a generator's :class:`~unsup.data.listings.Truth`
    (mean cosine of matched word distributions, and the theme of each learned topic)."""
    T = align_truth(truth.vocab, truth.topic_word, vocab)
    m = hungarian_match(model_topic_word, T)
    theme_of = {int(r): truth.themes[int(c)] for r, c in zip(m["learned"], m["truth"])}
    return {**m, "theme_of": theme_of}


# -- analysis of a fitted model, for the page (figures in unsup.viz.topics) -----------------------
def topic_table(model, lam: float = 0.6, n: int = 8) -> "pd.DataFrame":
    """One row per topic: label, prevalence, its top words ranked by relevance (weight
    ``lam``), and the lecture's formula: the most probable words with P(word | topic), in
    decreasing order."""
    import pandas as pd

    prev = model.prevalence()
    return pd.DataFrame({
        "topic": np.arange(model.n_topics), "label": model.labels_,
        "share": np.round(prev, 4),
        "relevant": [" · ".join(w for w, _ in model.top_words(k, n, lam))
                     for k in range(model.n_topics)],
        "words": [model.formula(k, n, 1.0) for k in range(model.n_topics)],
    })


def js_distances(topic_word: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (sqrt of the divergence, base 2) between every pair of topics."""
    P = np.asarray(topic_word, float) + 1e-12
    P /= P.sum(1, keepdims=True)
    K = len(P)
    D = np.zeros((K, K))
    for i in range(K):
        M = 0.5 * (P[i][None] + P)
        kl1 = (P[i][None] * np.log2(P[i][None] / M)).sum(1)
        kl2 = (P * np.log2(P / M)).sum(1)
        D[i] = np.sqrt(np.clip(0.5 * (kl1 + kl2), 0, None))
    return (D + D.T) / 2


def mds_2d(D: np.ndarray) -> np.ndarray:
    """Classical (Torgerson) scaling of a distance matrix to 2-D, as LDAvis does."""
    K = len(D)
    if K < 3:
        return np.c_[np.arange(K, dtype=float), np.zeros(K)]
    J = np.eye(K) - 1.0 / K
    B = -0.5 * J @ (D ** 2) @ J
    w, v = np.linalg.eigh(B)
    idx = np.argsort(w)[::-1][:2]
    xy = v[:, idx] * np.sqrt(np.clip(w[idx], 0, None))
    xy *= np.where(xy[np.abs(xy).argmax(0), [0, 1]] < 0, -1, 1)  # a fixed orientation
    return xy


def share_by_period(dates: pd.Series, theta: np.ndarray, freq: str = "Q") -> pd.DataFrame:
    """Mean topic share per period ("M" month or "Q" quarter): (periods, K), index = period
    start."""
    import pandas as pd

    period = pd.to_datetime(dates).dt.to_period(freq).dt.start_time
    df = pd.DataFrame(theta, columns=range(theta.shape[1]))
    df["period"] = period.to_numpy()
    return df.groupby("period").mean().sort_index()


def developer_niches(developers: pd.Series, theta: np.ndarray, min_listings: int = 20
                     ) -> pd.DataFrame:
    """Each developer's mean topic share divided by the whole corpus's (lift; 1 = average),
    for developers with at least ``min_listings`` listings. Rows sorted by size."""
    import pandas as pd

    df = pd.DataFrame(theta, columns=range(theta.shape[1]))
    df["developer"] = developers.astype(str).to_numpy()
    g = df.groupby("developer")
    sizes = g.size()
    mean = g.mean()[sizes >= min_listings]
    lift = mean / np.maximum(theta.mean(0), 1e-12)
    return lift.loc[sizes[sizes >= min_listings].sort_values(ascending=False).index]




def intertopic_positions(topic_word: np.ndarray) -> np.ndarray:
    """2-D positions of the topics: classical scaling of their Jensen-Shannon distances."""
    return mds_2d(js_distances(topic_word))


def relevance_counts(model, k: int, lam: float, n: int = 12):
    """The ``n`` top words of topic ``k`` by relevance (Sievert & Shirley 2014), bottom-up,
    with their count in the whole corpus and their expected count in topic ``k``."""
    order = np.argsort(-model.relevance(lam)[k], kind="stable")[:n][::-1]
    words = [model.vocab_[i] for i in order]
    total = model.word_freq_[order]
    within = model.topic_word_[k, order] * model.prevalence()[k] * model.word_freq_.sum()
    return words, total, np.minimum(within, total)
