"""Clustering and the 2-D maps of a representation: the lecture's K-means, Gaussian mixtures
(spherical, diagonal, full covariance), the Dirichlet-process mixture (the limit of the Chinese
restaurant process) that suggests K; the scores that compare a clustering with the true labels;
PCA's basis and reconstructions; 2-D embeddings (PCA, UMAP) and placing new points on them.

Everything here takes arrays: ``X`` is (n, d) float, one row per item. Nothing loads a model.

Scores (both are 1 for a clustering that is the labelling up to renaming, higher is better):

- NMI, normalized mutual information: I(labels; clusters) / mean(H(labels), H(clusters))
  (the arithmetic mean, scikit-learn's default); 0 when the clusters say nothing about the labels.
- ARI, adjusted Rand index (Hubert & Arabie 1985): the fraction of pairs of items on which the
  clustering and the labels agree (same group or not), corrected for chance: 0 for a random
  clustering, negative when worse than chance.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

METHODS: dict[str, str] = {
    "kmeans": "K-means",
    "gmm_spherical": "GMM, spherical",
    "gmm_diag": "GMM, diagonal",
    "gmm_full": "GMM, full",
    "dp": "DP mixture",
}
"""Clustering methods (key -> label). ``dp`` is scikit-learn's variational Dirichlet-process
Gaussian mixture (BayesianGaussianMixture, weight_concentration_prior_type="dirichlet_process")."""

FULL_MAX_DIMS = 100
"""Full covariances are fitted up to this many dimensions. Above it a full covariance per cluster
has d(d+1)/2 free numbers (307,720 for 784 pixels), far more than a few thousand images can pin
down; the table leaves "GMM, full" out there and the DP mixture uses diagonal covariances."""

DP_MIN_WEIGHT = 0.01
"""A component of the DP mixture counts as a cluster when its posterior weight is at least this."""


def reg_covar(X: np.ndarray) -> float:
    """Covariance floor added to every variance: 1e-3 of the mean feature variance (pixels that
    are always 0 have variance 0, which a Gaussian cannot fit without it)."""
    return float(max(1e-6, 1e-3 * float(np.var(X, axis=0).mean())))


@dataclass
class Clustering:
    """A fitted clustering of n items into k groups.

    ``labels`` (n,) the hard assignment; ``resp`` (n, k) soft assignments (responsibilities,
    rows sum to 1; one-hot for K-means); ``centers`` (k, d); ``weights`` (k,) mixture weights;
    ``n_clusters`` the clusters it uses (for the DP mixture: its suggested K). ``estimator`` is
    the fitted scikit-learn object (``predict_proba`` on new points).
    """

    method: str
    labels: np.ndarray
    resp: np.ndarray
    centers: np.ndarray
    weights: np.ndarray
    n_clusters: int
    covariance_type: str | None = None
    estimator: object = field(default=None, repr=False)
    note: str = ""

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Soft assignment (m, k) of new points (one-hot nearest centre for K-means)."""
        X = np.asarray(X, dtype=np.float64)
        if self.method == "kmeans":
            d = ((X[:, None, :] - self.centers[None]) ** 2).sum(-1)
            out = np.zeros_like(d)
            out[np.arange(len(X)), d.argmin(1)] = 1.0
            return out
        return self.estimator.predict_proba(X)

    def covariances(self) -> np.ndarray | None:
        """Full covariance matrices (k, d, d) of a mixture (None for K-means)."""
        est = self.estimator
        if self.method == "kmeans" or est is None:
            return None
        cov, k, d = est.covariances_, len(self.centers), self.centers.shape[1]
        if self.covariance_type == "full":
            return np.asarray(cov)
        if self.covariance_type == "diag":
            return np.stack([np.diag(c) for c in cov])
        if self.covariance_type == "spherical":
            return np.asarray(cov)[:, None, None] * np.eye(d)[None]
        return np.repeat(np.asarray(cov)[None], k, axis=0)  # tied


def dp_covariance(d: int) -> str:
    return "full" if d <= FULL_MAX_DIMS else "diag"


def fit_clusters(X: np.ndarray, method: str, k: int, *, seed: int = 0, alpha: float = 1.0,
                 max_components: int | None = None, covariance_type: str | None = None,
                 n_init: int = 10) -> Clustering:
    """Cluster ``X`` (n, d) with ``method`` (a key of :data:`METHODS`).

    ``k``: the number of clusters (K-means, GMMs). The DP mixture is given ``max_components``
    (default 2k) and the concentration ``alpha`` (the CRP's parameter: larger opens new
    clusters more readily) and keeps as many as its posterior weights support (weight ≥
    :data:`DP_MIN_WEIGHT`). ``covariance_type`` overrides the DP mixture's (default: full up
    to :data:`FULL_MAX_DIMS` dimensions, else diagonal). Seeds are fixed: the same call gives
    the same clustering. It runs on one thread: these matrices are small, and BLAS/OpenMP
    threads fighting over 2 shared cores made a 500-point fit 10-100 times slower (measured).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit_clusters(X, method, k, seed=seed, alpha=alpha, max_components=max_components,
                             covariance_type=covariance_type, n_init=n_init)


def _fit_clusters(X, method, k, *, seed, alpha, max_components, covariance_type, n_init
                  ) -> Clustering:
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if method not in METHODS:
        raise KeyError(f"unknown clustering method {method!r}; known: {list(METHODS)}")
    k = int(max(1, min(k, n)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if method == "kmeans":
            km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
            labels = km.labels_.astype(np.int64)
            resp = np.eye(k)[labels]
            weights = np.bincount(labels, minlength=k) / n
            return Clustering(method, labels, resp, km.cluster_centers_, weights, k,
                              estimator=km)
        if method.startswith("gmm_"):
            cov = method.split("_", 1)[1]
            gm = GaussianMixture(k, covariance_type=cov, random_state=seed,
                                 reg_covar=reg_covar(X), max_iter=200).fit(X)
            resp = gm.predict_proba(X)
            return Clustering(method, resp.argmax(1).astype(np.int64), resp, gm.means_,
                              gm.weights_, k, cov, gm)
        cap = int(max_components or 2 * k)
        cap = max(1, min(cap, n))
        cov = covariance_type or dp_covariance(d)
        dp = BayesianGaussianMixture(
            n_components=cap, covariance_type=cov,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=float(alpha), random_state=seed, max_iter=500,
            reg_covar=reg_covar(X)).fit(X)
    resp = dp.predict_proba(X)
    used = suggested_k(dp.weights_)
    note = f"{cov} covariances, at most {cap} components, α = {alpha:g}"
    if used >= cap:
        note += f"; it kept all {cap} (the cap)"
    return Clustering(method, resp.argmax(1).astype(np.int64), resp, dp.means_, dp.weights_,
                      used, cov, dp, note)


def suggested_k(weights: np.ndarray, min_weight: float = DP_MIN_WEIGHT) -> int:
    """The number of mixture components whose weight is at least ``min_weight``."""
    return int((np.asarray(weights) >= min_weight).sum())


def scores(y_true: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """NMI and ARI of a clustering against the true labels (see the module docstring)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"nmi": float(normalized_mutual_info_score(y_true, labels)),
            "ari": float(adjusted_rand_score(y_true, labels))}


# -- K-means, one step at a time -------------------------------------------------------------
def kmeans_steps(X: np.ndarray, k: int, *, seed: int = 0, max_iter: int = 50,
                 init: str = "random") -> list[tuple[np.ndarray, np.ndarray]]:
    """Lloyd's algorithm, step by step, from a seeded start: ``init="random"`` (k distinct data
    points, Forgy's start: more steps to watch, and sometimes a poor local optimum) or
    ``"k-means++"`` (Arthur & Vassilvitskii 2007: spread-out starting centres).

    Returns [(centers (k, d), labels (n,)), ...]: entry 0 is the start with every point
    assigned to its nearest start centre; each later entry moves the centres to the means of
    their points and reassigns. Stops when no point changes cluster (or after ``max_iter``).
    A cluster left without points keeps its centre.
    """
    from sklearn.cluster import kmeans_plusplus

    X = np.asarray(X, dtype=np.float64)
    if init == "random":
        centers = X[np.random.default_rng(seed).choice(len(X), int(k), replace=False)].copy()
    elif init == "k-means++":
        centers, _ = kmeans_plusplus(X, int(k), random_state=seed)
    else:
        raise ValueError(f"init must be 'random' or 'k-means++', not {init!r}")

    def assign(c):
        return ((X[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)

    labels = assign(centers)
    out = [(centers.copy(), labels.copy())]
    for _ in range(max_iter):
        new = centers.copy()
        for j in range(len(centers)):
            members = labels == j
            if members.any():
                new[j] = X[members].mean(0)
        new_labels = assign(new)
        centers = new
        out.append((centers.copy(), new_labels.copy()))
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return out


def inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """K-means' objective: the sum of squared distances of the points to their centres."""
    X = np.asarray(X, dtype=np.float64)
    return float(((X - centers[labels]) ** 2).sum())


# -- the Chinese restaurant process ----------------------------------------------------------
def crp_seating(n: int, alpha: float, seed: int = 0) -> np.ndarray:
    """Seat ``n`` customers by the Chinese restaurant process; returns the table of each.

    Customer i (0-based) joins an occupied table with probability (people there) / (i + α)
    and opens a new table with probability α / (i + α).
    """
    rng = np.random.default_rng(seed)
    tables: list[int] = []
    seat = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = np.array(tables + [alpha], dtype=np.float64) / (i + alpha)
        t = int(rng.choice(len(p), p=p))
        if t == len(tables):
            tables.append(0)
        tables[t] += 1
        seat[i] = t
    return seat


def crp_expected_tables(n: int, alpha: float) -> float:
    """E[number of tables] after n customers: Σ_{i=0}^{n-1} α / (α + i)."""
    i = np.arange(n, dtype=np.float64)
    return float((alpha / (alpha + i)).sum())


# -- PCA ---------------------------------------------------------------------------------------
@dataclass
class PCABasis:
    """``mean`` (d,), ``components`` (m, d) orthonormal rows, sorted by ``variance`` (m,),
    the variance of the data along each; ``total_variance`` the data's total variance."""

    mean: np.ndarray
    components: np.ndarray
    variance: np.ndarray
    total_variance: float

    def transform(self, X: np.ndarray, k: int | None = None) -> np.ndarray:
        """Coefficients (n, k) of ``X`` on the first k components."""
        k = len(self.components) if k is None else int(k)
        return (np.asarray(X, dtype=np.float64) - self.mean) @ self.components[:k].T

    def reconstruct(self, X: np.ndarray, k: int) -> np.ndarray:
        """X rebuilt from its first k coefficients: mean + Σ_j c_j · component_j."""
        return self.mean + self.transform(X, k) @ self.components[:int(k)]

    def explained(self) -> np.ndarray:
        """Cumulative fraction of the total variance kept by the first 1, 2, ... components."""
        return np.cumsum(self.variance) / self.total_variance


def pca_basis(X: np.ndarray, n_components: int | None = None) -> PCABasis:
    """PCA of ``X`` (n, d): eigenvectors of the covariance when n ≥ d (4,500 digits: 0.3 s
    against 3 s for the SVD), else the SVD of the centred data; one thread (see
    :func:`fit_clusters`). Signs are fixed — the largest |entry| of each component is positive
    — so the basis is the same on every machine. At most min(n, d) components."""
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    mean = X.mean(0)
    Xc = X - mean
    with threadpool_limits(limits=1):
        if n >= d:
            vals, vecs = np.linalg.eigh(Xc.T @ Xc / max(1, n - 1))
            order = np.argsort(vals)[::-1]
            var_all, vt_all = np.clip(vals[order], 0, None), vecs[:, order].T
        else:
            _, s, vt_all = np.linalg.svd(Xc, full_matrices=False)
            var_all = s ** 2 / max(1, n - 1)
    r = min(n, d)
    m = r if n_components is None else min(int(n_components), r)
    vt = vt_all[:m]
    sign = np.sign(vt[np.arange(m), np.abs(vt).argmax(1)])
    vt = vt * np.where(sign == 0, 1.0, sign)[:, None]
    return PCABasis(mean, vt, var_all[:m], float(var_all.sum()))


def reconstruction_error(basis: PCABasis, X: np.ndarray, ks) -> list[float]:
    """Mean squared error per pixel of X rebuilt from the first k components, for each k."""
    X = np.asarray(X, dtype=np.float64)
    return [float(((basis.reconstruct(X, k) - X) ** 2).mean()) for k in ks]


# -- 2-D maps ------------------------------------------------------------------------------------
def embed_pca(codes: np.ndarray) -> tuple[np.ndarray, PCABasis]:
    """The first two principal components of ``codes`` (n, d) -> (n, 2), with the basis (so a
    new code lands exactly where it belongs: ``basis.transform(z, 2)``)."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], 1)
    basis = pca_basis(codes, 2)
    return basis.transform(codes, 2).astype(np.float32), basis


def numba_cache_dir() -> str:
    """A writable numba cache for UMAP's compiled functions (under the unsup cache folder), so
    that only the first UMAP of a machine pays for compiling; set before numba is imported."""
    from unsup import paths

    path = paths.cache_dir() / "numba"
    path.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(path))
    return os.environ["NUMBA_CACHE_DIR"]


def import_umap():
    """``import umap`` with a writable numba cache (15-28 s the first time on a loaded 2-core
    machine, about 2 s once the cache is warm)."""
    numba_cache_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap
    return umap


class _EpochWriter:
    """A file-like sink for UMAP's tqdm bar (bar_format "{n}/{total}"): each write reports the
    fraction of optimisation epochs done."""

    def __init__(self, callback: Callable[[float], None]):
        self.callback = callback

    def write(self, text: str) -> None:
        m = re.findall(r"(\d+)/(\d+)", text)
        if m:
            done, total = (int(v) for v in m[-1])
            if total:
                self.callback(done / total)

    def flush(self) -> None:
        pass


UMAP_DEFAULTS = dict(n_neighbors=15, min_dist=0.1, seed=0)


def embed_umap(codes: np.ndarray, *, n_neighbors: int = 15, min_dist: float = 0.1,
               n_epochs: int | None = None, seed: int = 0,
               on_epochs: Callable[[float], None] | None = None) -> np.ndarray:
    """UMAP (McInnes, Healy & Melville 2018) of ``codes`` (n, d) -> (n, 2) float32.

    Seeded (which also makes it single-threaded). ``on_epochs(fraction)`` follows the layout
    optimisation. Never ``inverse_transform``: place new points with :func:`place_by_neighbours`.
    """
    umap = import_umap()
    codes = np.asarray(codes, dtype=np.float32)
    kw = {}
    if on_epochs is not None:
        kw["tqdm_kwds"] = {"disable": False, "file": _EpochWriter(on_epochs),
                           "bar_format": "{n}/{total}", "mininterval": 0.25}
    reducer = umap.UMAP(n_neighbors=int(min(n_neighbors, len(codes) - 1)),
                        min_dist=float(min_dist), n_components=2, random_state=int(seed),
                        n_epochs=None if n_epochs is None else int(n_epochs), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(reducer.fit_transform(codes), dtype=np.float32)


def knn_agreement(X: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """How well a representation or a map keeps the classes together: the fraction of items
    whose k nearest other items (Euclidean) mostly carry the item's own label (a leave-one-out
    k-NN vote; ties go to the smallest label). 1 = every neighbourhood is pure; higher is
    better."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    sq = (X ** 2).sum(1)
    d = sq[:, None] + sq[None] - 2 * X @ X.T
    np.fill_diagonal(d, np.inf)
    nn = np.argpartition(d, k, axis=1)[:, :k]
    votes = labels[nn]
    n_classes = int(labels.max()) + 1
    counts = np.stack([(votes == c).sum(1) for c in range(n_classes)], 1)
    return float((counts.argmax(1) == labels).mean())


def _idw(distances: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Inverse-distance-weighted mean of ``values`` (k, ...) at ``distances`` (k,); an exact
    match (distance 0) returns its own value."""
    if distances[0] <= 1e-12:
        return values[0]
    w = 1.0 / distances
    return (w[:, None] * values.reshape(len(values), -1)).sum(0).reshape(values.shape[1:]) / w.sum()


def nearest(points: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the k rows of ``points`` nearest to ``query`` (d,), nearest first."""
    points = np.asarray(points, dtype=np.float64)
    dist = np.sqrt(((points - np.asarray(query, dtype=np.float64)) ** 2).sum(1))
    k = int(min(k, len(points)))
    idx = np.argpartition(dist, k - 1)[:k]
    idx = idx[np.argsort(dist[idx])]
    return idx, dist[idx]


def place_by_neighbours(codes: np.ndarray, coords: np.ndarray, z: np.ndarray, k: int = 10
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Where a new code ``z`` (d,) lands on a map of ``codes`` (n, d) drawn at ``coords``
    (n, 2): the inverse-distance-weighted mean position of its k nearest codes (in code space).
    Returns (xy (2,), the neighbours' indices)."""
    idx, dist = nearest(codes, z, k)
    return _idw(dist, np.asarray(coords, dtype=np.float64)[idx]), idx


def code_at(coords: np.ndarray, codes: np.ndarray, xy: np.ndarray, k: int = 5
            ) -> tuple[np.ndarray, np.ndarray]:
    """A code for any location ``xy`` of the map: the inverse-distance-weighted mean of the
    codes of the k points drawn nearest to it. Returns (code (d,), their indices)."""
    idx, dist = nearest(coords, xy, k)
    return _idw(dist, np.asarray(codes, dtype=np.float64)[idx]), idx
