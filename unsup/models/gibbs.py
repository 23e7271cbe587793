"""LDA's collapsed Gibbs sampler (Griffiths & Steyvers 2004), compiled with numba, whose random
numbers are a function of (seed, sweep): a chain's whole state is its topic assignments, its
alpha and its sweep count, so a checkpoint of those three continues bit for bit like a run that
never stopped (tomotopy, the engine before this one, reseeds a loaded sampler from the operating
system: its resumed sweeps could not equal an uninterrupted run's).

One sweep visits every word token i of every document d in order, takes it out of the counts and
draws its topic from the collapsed conditional

    P(z_i = k | rest) ∝ (n_dk + alpha_k) · (n_kw + eta) / (n_k + V·eta),

with the uniform that decides the draw the i-th number of ``default_rng([seed, sweep])``. A chain
starts from topics drawn uniformly at random (``default_rng([seed, INIT])``). (Placing the
tokens one by one into empty counts, each from the conditional of those placed before it, is a
common warm start; on the built-in listings it settled every starting chain in the same local
optimum, recovery 0.87 against 0.995 from random starts, so it is not used.) Every ``interval`` sweeps
an asymmetric alpha is re-estimated by Minka's fixed point (2000), computed from histograms of
the counts (the digamma differences of integer counts are sums of 1 / (alpha + j)).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import gammaln

ALPHA_FLOOR = 1e-5  # Minka's update can drive a topic's alpha towards 0; keep it positive
INIT = 2**32 - 1  # the stream of the starting topics (sweeps are numbered from 0)


@njit(cache=True, nogil=True)
def _sweep(doc_of, words, z, ndk, nkw, nk, alpha, eta, veta, u):  # pragma: no cover
    K = nk.shape[0]
    p = np.empty(K)
    for i in range(words.shape[0]):
        d = doc_of[i]
        w = words[i]
        k = z[i]
        ndk[d, k] -= 1
        nkw[k, w] -= 1
        nk[k] -= 1
        tot = 0.0
        for t in range(K):
            tot += (ndk[d, t] + alpha[t]) * (nkw[t, w] + eta) / (nk[t] + veta)
            p[t] = tot
        r = u[i] * tot
        k = 0
        while k < K - 1 and p[k] <= r:
            k += 1
        z[i] = k
        ndk[d, k] += 1
        nkw[k, w] += 1
        nk[k] += 1


def stream(seed: int, sweep: int, n: int) -> np.ndarray:
    """The uniforms of one sweep: a function of (seed, sweep) only."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(sweep)]).random(n)


class Chain:
    """One Gibbs chain over a fixed corpus: token arrays, assignments ``z``, counts, ``alpha``,
    ``sweeps`` done. Start it with :meth:`start` (random topics) or :meth:`restore` (a
    checkpoint's assignments: the counts are recomputed, exactly), then :meth:`sweep`."""

    def __init__(self, doc_ptr: np.ndarray, words: np.ndarray, n_topics: int, n_words: int,
                 alpha: np.ndarray, eta: float, seed: int, interval: int):
        lens = np.diff(np.asarray(doc_ptr, np.int64))
        self.words = np.ascontiguousarray(words, np.int32)
        self.doc_of = np.repeat(np.arange(len(lens), dtype=np.int32), lens)
        self.lens = lens
        self.K, self.V = int(n_topics), int(n_words)
        self.alpha = np.array(alpha, np.float64)
        self.eta = float(eta)
        self.seed = int(seed)
        self.interval = int(interval)
        self.z = np.zeros(len(self.words), np.int32)
        self.ndk = np.zeros((len(lens), self.K), np.int32)
        self.nkw = np.zeros((self.K, self.V), np.int32)
        self.nk = np.zeros(self.K, np.int32)
        self.sweeps = 0

    def start(self) -> "Chain":
        """Topics drawn uniformly at random, no sweep yet."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, INIT])
        return self.restore(rng.integers(0, self.K, len(self.words)), 0)

    def sweep(self, n: int) -> "Chain":
        for _ in range(int(n)):
            u = stream(self.seed, self.sweeps, len(self.words))
            _sweep(self.doc_of, self.words, self.z, self.ndk, self.nkw, self.nk, self.alpha,
                   self.eta, self.V * self.eta, u)
            self.sweeps += 1
            if self.interval and self.sweeps % self.interval == 0:
                self.alpha = minka_alpha(self.ndk, self.lens, self.alpha)
        return self

    def restore(self, z: np.ndarray, sweeps: int) -> "Chain":
        z = np.asarray(z, np.int32)
        if z.shape != self.z.shape or (len(z) and (z.min() < 0 or z.max() >= self.K)):
            raise ValueError("the saved topic assignments do not fit this corpus")
        self.z = z.copy()
        self.ndk[:] = 0
        np.add.at(self.ndk, (self.doc_of, self.z), 1)
        self.nkw[:] = 0
        np.add.at(self.nkw, (self.z, self.words), 1)
        self.nk = np.bincount(self.z, minlength=self.K).astype(np.int32)
        self.sweeps = int(sweeps)
        return self

    def loglik_per_word(self) -> float:
        """log p(w, z | alpha, eta) / N, the collapsed joint likelihood of the current state."""
        n = max(1, len(self.words))
        eta, V = self.eta, self.V
        lw = (self.K * (gammaln(V * eta) - V * gammaln(eta))
              + gammaln(self.nkw + eta).sum() - gammaln(self.nk + V * eta).sum())
        used = self.lens > 0
        a0 = self.alpha.sum()
        lz = (used.sum() * (gammaln(a0) - gammaln(self.alpha).sum())
              + gammaln(self.ndk[used] + self.alpha).sum() - gammaln(self.lens[used] + a0).sum())
        return float((lw + lz) / n)

    def topic_word(self) -> np.ndarray:
        return (self.nkw + self.eta) / (self.nk[:, None] + self.V * self.eta)

    def doc_topic(self) -> np.ndarray:
        return (self.ndk + self.alpha) / (self.lens[:, None] + self.alpha.sum())


def _digamma_diff_sums(counts: np.ndarray, a: float) -> float:
    """sum_d [psi(counts_d + a) - psi(a)] from the histogram of the integer counts."""
    hist = np.bincount(counts)
    if len(hist) <= 1:
        return 0.0
    steps = np.concatenate([[0.0], np.cumsum(1.0 / (a + np.arange(len(hist) - 1)))])
    return float((hist * steps).sum())


def minka_alpha(ndk: np.ndarray, lens: np.ndarray, alpha: np.ndarray,
                iterations: int = 10) -> np.ndarray:
    """Minka's fixed-point update of an asymmetric Dirichlet prior from the documents' topic
    counts: alpha_k <- alpha_k · sum_d [psi(n_dk + alpha_k) - psi(alpha_k)] /
    sum_d [psi(n_d + alpha_0) - psi(alpha_0)] (documents with no word drop out)."""
    alpha = np.array(alpha, np.float64)
    used = lens > 0
    if not used.any():
        return alpha
    ndk, lens = ndk[used], np.asarray(lens[used], np.int64)
    for _ in range(int(iterations)):
        den = _digamma_diff_sums(lens, alpha.sum())
        if den <= 0:
            break
        num = np.array([_digamma_diff_sums(ndk[:, k], alpha[k]) for k in range(len(alpha))])
        alpha = np.maximum(alpha * num / den, ALPHA_FLOOR)
    return alpha

