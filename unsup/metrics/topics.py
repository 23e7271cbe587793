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

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

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
