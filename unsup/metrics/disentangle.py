"""Disentanglement metrics, defined as in disentanglement_lib (Locatello et al. 2019).

Every metric works on a :class:`CodeBank`: the codes (mean of q(z|x)) of a fixed set of
held-out images together with their ground-truth factor indices. Samples that a metric draws
"from the generative process" (e.g. pairs of images sharing one factor) are drawn from the bank:
for dSprites the bank is a uniform random 32,768-image subset of the full factorial design, so
"an image whose factor k has value v" is a uniform draw among the bank's images with f_k = v.
Encoding the bank once (about 10 s on 2 cores) makes all five metrics cost seconds, and lets
the tests run them on synthetic codes without any model.

=================  ==============================================================================
metric             definition (disentanglement_lib defaults unless stated)
=================  ==============================================================================
BetaVAE score      Higgins et al. 2017: a point = mean |z(x1) - z(x2)| over 64 pairs that share
                   factor k (k uniform); logistic regression predicts k; accuracy on 5,000 eval
                   points (10,000 train).
FactorVAE score    Kim & Mnih 2018: codes divided by their global std (dims with variance < 0.05
                   pruned); a vote = (k, argmin_j var of 64 codes with factor k fixed); majority-
                   vote classifier; accuracy on 5,000 eval votes (10,000 train).
MIG                Chen et al. 2018: codes discretized in 20 equal-width bins per dim; mutual
                   information with each factor; gap between the two largest, divided by the
                   factor's entropy; mean over factors. 10,000 points.
DCI disentangle.   Eastwood & Williams 2018: importance R[j, k] of code j for factor k from
                   random-forest classifiers (disentanglement_lib uses gradient-boosted trees;
                   a forest of 20 trees of depth <= 8 is ~50x cheaper and gives the same
                   ordering here); D = Σ_j ρ_j (1 - H_K(P_j.)), ρ_j = Σ_k R[j,k] / Σ R.
SAP                Kumar et al. 2018, discrete-factor variant: S[j, k] = test accuracy of a
                   linear SVM (C = 0.01, balanced) predicting factor k from code j alone;
                   mean over factors of the gap between the two best codes.
=================  ==============================================================================

All sampling uses ``numpy.random.default_rng(seed)``; the same seed gives the same score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

METRIC_LABELS = {"beta_vae": "BetaVAE score", "factor_vae": "FactorVAE score", "mig": "MIG",
                 "dci": "DCI disentanglement", "sap": "SAP"}
METRIC_HELP = {
    "beta_vae": "Higgins et al. 2017: accuracy of a linear classifier that names which factor was "
                "held fixed from code differences. 0–100%, higher is better; chance is 20%.",
    "factor_vae": "Kim & Mnih 2018: accuracy of a majority vote naming the fixed factor from the "
                  "least-varying latent. 0–100%, higher is better; chance is 20%.",
    "mig": "Mutual information gap (Chen et al. 2018): per factor, the gap between the two "
           "latents that know most about it, over its entropy. 0–1, higher is better.",
    "dci": "DCI disentanglement (Eastwood & Williams 2018): how much each latent's importance "
           "concentrates on one factor (random forests). 0–1, higher is better.",
    "sap": "Separated attribute predictability (Kumar et al. 2018): gap between the two most "
           "predictive latents per factor. 0–1, higher is better.",
}
"""What each disentanglement score measures, its range and which way is better."""


@dataclass
class CodeBank:
    """Codes and factors of a fixed set of samples.

    codes : (n, d) float, the representation (posterior means).
    factors : (n, K) int, factor indices, factor k in [0, factor_sizes[k]).
    factor_sizes : K ints.
    factor_names : K names (for tables and heatmaps).
    """

    codes: np.ndarray
    factors: np.ndarray
    factor_sizes: Sequence[int]
    factor_names: Sequence[str] = ()

    def __post_init__(self):
        self.codes = np.asarray(self.codes, dtype=np.float64)
        self.factors = np.asarray(self.factors, dtype=np.int64)
        if not self.factor_names:
            self.factor_names = tuple(f"factor {k}" for k in range(self.factors.shape[1]))
        # rows sorted by each factor: the rows with factor k == v are
        # order[k][start[k][v] : start[k][v] + count[k][v]]
        self._order = [np.argsort(self.factors[:, k], kind="stable")
                       for k in range(self.factors.shape[1])]
        self._count = [np.bincount(self.factors[:, k], minlength=size)
                       for k, size in enumerate(self.factor_sizes)]
        self._start = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in self._count]

    @property
    def n(self) -> int:
        return len(self.codes)

    def permuted(self, perm: Sequence[int]) -> "CodeBank":
        """The same bank with the code dimensions reordered (for tests)."""
        return CodeBank(self.codes[:, list(perm)], self.factors, self.factor_sizes,
                        self.factor_names)

    def sample_value(self, k: int, shape, rng: np.random.Generator) -> np.ndarray:
        """Values of factor k drawn uniformly among those present in the bank."""
        present = np.flatnonzero(self._count[k])
        return present[rng.integers(0, len(present), shape)]

    def sample_fixed(self, k: int, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each entry v of ``values`` (any shape), a random row whose factor k equals v."""
        values = np.asarray(values)
        count = self._count[k][values]
        if np.any(count == 0):
            raise ValueError(f"a value of {self.factor_names[k]} has no sample in the bank")
        pick = (rng.random(values.shape) * count).astype(np.int64)
        return self._order[k][self._start[k][values] + pick]


@torch.no_grad()
def encode_all(representation: Callable[[torch.Tensor], torch.Tensor], images, indices,
               batch: int = 512) -> np.ndarray:
    """Codes of ``images[indices]`` (``images`` indexable like :class:`unsup.train.Indexable`)."""
    out = []
    idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
    for s in range(0, len(idx), batch):
        out.append(representation(images[idx[s:s + batch]]).detach().cpu().double().numpy())
    return np.concatenate(out)


# -- mutual information --------------------------------------------------------------------------
def discretize(codes: np.ndarray, bins: int = 20) -> np.ndarray:
    """Each column of ``codes`` cut into ``bins`` equal-width bins (disentanglement_lib's
    ``_histogram_discretize``): (n, d) ints."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def _mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information (nats) of two int label vectors, from their contingency table."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1.0)
    p = table / table.sum()
    pa = p.sum(1, keepdims=True)
    pb = p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum())


def _entropy(a: np.ndarray) -> float:
    _, counts = np.unique(a, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def mutual_info_matrix(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> np.ndarray:
    """I(z_j; v_k) in nats, (d, K), with the codes discretized in ``bins`` bins."""
    disc = discretize(codes, bins)
    return np.array([[_mutual_info(disc[:, j], factors[:, k]) for k in range(factors.shape[1])]
                     for j in range(disc.shape[1])])


def normalized_mi(bank: CodeBank, n: int = 10_000, seed: int = 0) -> np.ndarray:
    """I(z_j; v_k) / H(v_k), (d, K): the heatmap of the page (1 = code j determines factor k)."""
    rows = _subset(bank, n, seed)
    m = mutual_info_matrix(bank.codes[rows], bank.factors[rows])
    h = np.array([_entropy(bank.factors[rows, k]) for k in range(bank.factors.shape[1])])
    return m / np.where(h > 0, h, 1.0)


def _subset(bank: CodeBank, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if n >= bank.n:
        return rng.permutation(bank.n)
    return rng.choice(bank.n, n, replace=False)


# -- MIG -----------------------------------------------------------------------------------------
def mig(bank: CodeBank, n: int = 10_000, seed: int = 0) -> dict:
    """Mutual information gap (Chen et al. 2018). Returns ``mig`` and ``per_factor``."""
    rows = _subset(bank, n, seed)
    m = mutual_info_matrix(bank.codes[rows], bank.factors[rows])  # (d, K)
    h = np.array([_entropy(bank.factors[rows, k]) for k in range(m.shape[1])])
    top = np.sort(m, axis=0)[::-1]
    second = top[1] if len(top) > 1 else np.zeros_like(top[0])
    gaps = (top[0] - second) / np.where(h > 0, h, 1.0)
    return {"mig": float(gaps.mean()), "per_factor": gaps.tolist()}


# -- BetaVAE score -------------------------------------------------------------------------------
def _beta_vae_points(bank: CodeBank, n_points: int, batch: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Training points of the BetaVAE score: x (n, d) = mean |z(a) - z(b)| over ``batch`` pairs
    (a, b) that share the value of factor y (n,), the other factors random."""
    K = len(bank.factor_sizes)
    x = np.zeros((n_points, bank.codes.shape[1]))
    y = rng.integers(0, K, n_points)
    for k in range(K):
        sel = np.flatnonzero(y == k)
        values = bank.sample_value(k, (len(sel), batch), rng)
        a = bank.sample_fixed(k, values, rng)  # (n_k, batch)
        b = bank.sample_fixed(k, values, rng)
        x[sel] = np.abs(bank.codes[a] - bank.codes[b]).mean(1)
    return x, y


def beta_vae_score(bank: CodeBank, n_train: int = 10_000, n_eval: int = 5_000,
                   batch: int = 64, seed: int = 0) -> dict:
    """BetaVAE score (Higgins et al. 2017): accuracy of a linear classifier that names the fixed
    factor from the mean absolute code difference of ``batch`` pairs sharing it."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x_tr, y_tr = _beta_vae_points(bank, n_train, batch, rng)
    x_ev, y_ev = _beta_vae_points(bank, n_eval, batch, rng)
    clf = LogisticRegression(max_iter=2000, random_state=seed).fit(x_tr, y_tr)
    return {"beta_vae": float(clf.score(x_ev, y_ev)), "train_accuracy": float(clf.score(x_tr, y_tr))}


# -- FactorVAE score -----------------------------------------------------------------------------
def _factor_vae_votes(bank, n_votes, batch, std, active, rng) -> np.ndarray:
    """Vote counts (d, K): for each vote, factor k fixed at a random value over ``batch``
    samples, the active code dim with the least variance (codes scaled by ``std``)."""
    K = len(bank.factor_sizes)
    d = bank.codes.shape[1]
    votes = np.zeros((d, K), dtype=np.int64)
    ks = rng.integers(0, K, n_votes)
    act = np.flatnonzero(active)
    for k in range(K):
        n_k = int((ks == k).sum())
        if n_k == 0:
            continue
        values = bank.sample_value(k, (n_k, 1), rng).repeat(batch, axis=1)
        rows = bank.sample_fixed(k, values, rng)  # (n_k, batch)
        local = (bank.codes[rows] / std).var(1, ddof=1)  # (n_k, d)
        j = act[np.argmin(local[:, act], axis=1)]
        np.add.at(votes, (j, k), 1)
    return votes


def factor_vae_score(bank: CodeBank, n_train: int = 10_000, n_eval: int = 5_000,
                     batch: int = 64, n_variance: int = 10_000, prune: float = 0.05,
                     seed: int = 0) -> dict:
    """FactorVAE score (Kim & Mnih 2018): majority-vote classifier from the code dimension of
    least normalised variance to the fixed factor."""
    rng = np.random.default_rng(seed)
    rows = _subset(bank, n_variance, seed)
    var = bank.codes[rows].var(0, ddof=1)
    active = var > prune
    if not active.any():
        return {"factor_vae": 0.0, "train_accuracy": 0.0, "n_active": 0}
    std = np.sqrt(np.where(var > 0, var, 1.0))
    train = _factor_vae_votes(bank, n_train, batch, std, active, rng)
    ev = _factor_vae_votes(bank, n_eval, batch, std, active, rng)
    best = train.argmax(1)  # factor predicted for each code dim
    d = np.arange(len(best))
    return {"factor_vae": float(ev[d, best].sum() / ev.sum()),
            "train_accuracy": float(train[d, best].sum() / train.sum()),
            "n_active": int(active.sum())}


# -- DCI disentanglement -------------------------------------------------------------------------
def importance_matrix(bank: CodeBank, n_train: int = 10_000, n_test: int = 5_000,
                      seed: int = 0) -> tuple[np.ndarray, float]:
    """R[j, k]: importance of code j for predicting factor k (random forests), and the mean
    test accuracy (DCI "informativeness")."""
    from sklearn.ensemble import RandomForestClassifier

    rows = _subset(bank, n_train + n_test, seed)
    tr, te = rows[:n_train], rows[n_train:]
    d, K = bank.codes.shape[1], bank.factors.shape[1]
    r = np.zeros((d, K))
    acc = []
    for k in range(K):
        # max_features=None: every split looks at every code, so reordering codes cannot change
        # the forest (bootstrap samples depend on the seed only).
        clf = RandomForestClassifier(n_estimators=20, max_depth=8, min_samples_leaf=5,
                                     max_features=None, random_state=seed, n_jobs=1)
        clf.fit(bank.codes[tr], bank.factors[tr, k])
        r[:, k] = np.abs(clf.feature_importances_)
        acc.append(clf.score(bank.codes[te], bank.factors[te, k]) if len(te) else np.nan)
    return r, float(np.nanmean(acc)) if acc else float("nan")


def dci_disentanglement(r: np.ndarray) -> float:
    """D from an importance matrix (d, K) (Eastwood & Williams 2018, eq. 2-3)."""
    K = r.shape[1]
    p = r / np.maximum(r.sum(1, keepdims=True), 1e-11)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p) / np.log(K), 0.0).sum(1)
    rho = r.sum(1) / max(r.sum(), 1e-11)
    return float(((1.0 - h) * rho).sum())


def dci(bank: CodeBank, n_train: int = 10_000, n_test: int = 5_000, seed: int = 0) -> dict:
    r, acc = importance_matrix(bank, n_train, n_test, seed)
    return {"dci": dci_disentanglement(r), "informativeness": acc}


# -- SAP -----------------------------------------------------------------------------------------
def sap(bank: CodeBank, n_train: int = 10_000, n_test: int = 5_000, seed: int = 0) -> dict:
    """SAP (Kumar et al. 2018), discrete factors: S[j, k] = test accuracy of a linear SVM on code
    j alone; score = mean over factors of (best - second best)."""
    from sklearn.svm import LinearSVC

    rows = _subset(bank, n_train + n_test, seed)
    tr, te = rows[:n_train], rows[n_train:]
    d, K = bank.codes.shape[1], bank.factors.shape[1]
    s = np.zeros((d, K))
    for j in range(d):
        xj_tr = bank.codes[tr, j:j + 1]
        xj_te = bank.codes[te, j:j + 1]
        for k in range(K):
            y_tr = bank.factors[tr, k]
            if np.ptp(xj_tr) == 0 or len(np.unique(y_tr)) < 2:
                s[j, k] = np.mean(bank.factors[te, k] == np.bincount(y_tr).argmax())
                continue
            clf = LinearSVC(C=0.01, class_weight="balanced", random_state=seed, max_iter=2000)
            clf.fit(xj_tr, y_tr)
            s[j, k] = clf.score(xj_te, bank.factors[te, k])
    top = np.sort(s, axis=0)[::-1]
    return {"sap": float((top[0] - top[1]).mean()) if d > 1 else float(top[0].mean()),
            "matrix": s.tolist()}


# -- everything ----------------------------------------------------------------------------------
def all_metrics(bank: CodeBank, seed: int = 0, fast: bool = False) -> dict:
    """The five scores (floats) plus the normalised MI matrix, with disentanglement_lib's sample
    sizes (``fast=True``: a tenth of them, for tests and previews)."""
    f = 10 if fast else 1
    n_tr, n_ev = 10_000 // f, 5_000 // f
    out = {
        "beta_vae": beta_vae_score(bank, n_tr, n_ev, seed=seed)["beta_vae"],
        "factor_vae": factor_vae_score(bank, n_tr, n_ev, seed=seed)["factor_vae"],
        "mig": mig(bank, n_tr, seed=seed)["mig"],
    }
    out.update(dci(bank, n_tr, n_ev, seed=seed))
    out["sap"] = sap(bank, n_tr, n_ev, seed=seed)["sap"]
    return out
