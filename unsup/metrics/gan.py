"""GAN metrics that need no downloaded weights.

- 2-D sets: modes captured and the share of high-quality samples (VEEGAN, Srivastava et al.
  2017; PacGAN, Lin et al. 2018, table 1): draw 2,500 samples; a sample is high
  quality when it lies within 3σ of its nearest mode; a mode is captured when enough
  high-quality samples have it as their nearest mode. The papers count a mode with at least one
  such sample (``min_count=1``); unsup asks for 20 of the 2,500 (a mode seen in under 1% of
  samples is not much of a mode), and says so where it shows the number.
- Feature sets (any features; the pages use the project's digit classifier, so the numbers are
  "Fréchet distance in the digit classifier's feature space", not FID, whose Inception network
  would have to be downloaded): the Fréchet distance between Gaussians fitted to two sets
  (Heusel et al. 2017), the kernel distance (KID's unbiased MMD² with a cubic polynomial kernel,
  Bińkowski et al. 2018), and k-NN precision and recall (Kynkäänniemi et al. 2019).
- Labels: the class histogram of generated samples under a classifier and the number of classes
  covered (the "stacked MNIST" view of mode collapse).

Lower is better for the Fréchet and kernel distances (0 for identical distributions); higher is
better for precision (samples look real), recall (the real variety is covered), modes captured,
the high-quality share and classes covered.
"""

from __future__ import annotations

import numpy as np
import torch

N_MODE_SAMPLES = 2_500
"""Samples drawn for the mode metrics (VEEGAN/PacGAN protocol)."""
HQ_THRESHOLD = 3.0
"""A sample is high quality within this many σ of its nearest mode."""
MIN_MODE_COUNT = 20
"""High-quality samples a mode needs to count as captured (the papers use 1)."""


# -- 2-D mixtures ---------------------------------------------------------------------------------
def mode_stats(samples, means, sigma: float, *, threshold: float = HQ_THRESHOLD,
               min_count: int = MIN_MODE_COUNT) -> dict:
    """Modes captured and high-quality share of ``samples`` (n, d) for a mixture of isotropic
    Gaussians with ``means`` (k, d) and standard deviation ``sigma``.

    Returns a dict: ``modes`` (captured, int), ``n_modes`` (k), ``hq`` (share of samples within
    ``threshold`` σ of their nearest mode, in [0, 1]), ``counts`` (high-quality samples per mode,
    list of k ints), ``captured`` (list of k bools), ``nearest`` (nearest mode of each sample),
    ``n`` (samples).
    """
    x = np.asarray(samples, dtype=np.float64)
    mu = np.asarray(means, dtype=np.float64)
    if x.ndim != 2 or mu.ndim != 2 or x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples {x.shape} and means {mu.shape} must be (n, d) and (k, d)")
    d2 = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)  # (n, k)
    nearest = d2.argmin(1)
    dist = np.sqrt(d2[np.arange(len(x)), nearest]) / float(sigma)  # in units of σ
    hq = np.isfinite(dist) & (dist < threshold)
    counts = np.bincount(nearest[hq], minlength=len(mu))
    captured = counts >= min_count
    return {"modes": int(captured.sum()), "n_modes": len(mu),
            "hq": float(hq.mean()) if len(x) else 0.0, "counts": counts.tolist(),
            "captured": captured.tolist(), "nearest": nearest, "n": len(x)}


# -- feature-space distances -------------------------------------------------------------------
def _as2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"features must be (n, d), got shape {a.shape}")
    return a


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_gaussians(mu1, cov1, mu2, cov2) -> float:
    """||μ₁ - μ₂||² + Tr(Σ₁ + Σ₂ - 2 (Σ₁Σ₂)^½), the squared 2-Wasserstein distance between
    N(μ₁, Σ₁) and N(μ₂, Σ₂). Tr (Σ₁Σ₂)^½ is computed as Σ √λ of the symmetric
    Σ₁^½ Σ₂ Σ₁^½ (same eigenvalues, always real)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    s1 = _psd_sqrt(cov1)
    m = s1 @ cov2 @ s1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2.0), 0.0, None)).sum()
    val = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_sqrt)
    return max(val, 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted (mean, covariance) to two feature sets (n, d).

    Computed on the digit classifier's features it is "the Fréchet distance in the digit
    classifier's feature space" (FID's formula, not its Inception features). 0 for identical
    sets; lower is better.
    """
    a, b = _as2d(feats_a), _as2d(feats_b)
    return frechet_distance_gaussians(a.mean(0), np.cov(a, rowvar=False),
                                      b.mean(0), np.cov(b, rowvar=False))


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between samples x (m, d) and y (n, d) with k(a, b) = (a·b/d + 1)³."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kernel_distance(feats_a, feats_b, *, n_subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID's estimator on two feature sets: the unbiased MMD² (cubic polynomial kernel)
    averaged over ``n_subsets`` random subsets of ``subset_size`` rows of each set (Bińkowski et
    al. 2018). Returns (mean, standard deviation over subsets). About 0 for two samples of one
    distribution (it can be slightly negative); lower is better.
    """
    a, b = _as2d(feats_a), _as2d(feats_b)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("kernel_distance needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(a[rng.choice(len(a), size, replace=False)],
                          b[rng.choice(len(b), size, replace=False)]) for _ in range(n_subsets)]
    return float(np.mean(vals)), float(np.std(vals))


# -- precision and recall ------------------------------------------------------------------------
def _pairwise_dist(x: torch.Tensor, y: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    return torch.cat([torch.cdist(x[i:i + chunk], y) for i in range(0, len(x), chunk)])


def knn_radii(feats, k: int = 3, chunk: int = 1024) -> np.ndarray:
    """Distance of each row of ``feats`` (n, d) to its k-th nearest other row, (n,)."""
    x = torch.as_tensor(_as2d(feats))
    if len(x) <= k:
        raise ValueError(f"need more than k = {k} samples, got {len(x)}")
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)  # (c, n); the row itself is at distance 0
        out.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(out).numpy()


def _coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor,
              chunk: int = 1024) -> np.ndarray:
    """For each point: is it inside the ball of at least one centre?"""
    out = []
    for i in range(0, len(points), chunk):
        d = torch.cdist(points[i:i + chunk], centres)  # (c, m)
        out.append((d <= radii[None, :]).any(1))
    return torch.cat(out).numpy()


def precision_recall(real_feats, fake_feats, k: int = 3) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each real sample gets a ball of radius = its distance to its k-th nearest real neighbour;
    their union estimates the real manifold. Precision: share of generated samples inside it.
    Recall: share of real samples inside the generated manifold (the same construction on the
    generated set). Both in [0, 1], higher is better. Returns {"precision", "recall", "k"}.
    """
    real = torch.as_tensor(_as2d(real_feats))
    fake = torch.as_tensor(_as2d(fake_feats))
    r_real = torch.as_tensor(knn_radii(real, k))
    r_fake = torch.as_tensor(knn_radii(fake, k))
    precision = float(_coverage(fake, real, r_real).mean())
    recall = float(_coverage(real, fake, r_fake).mean())
    return {"precision": precision, "recall": recall, "k": int(k)}


# -- class coverage ------------------------------------------------------------------------------
def class_histogram(labels, n_classes: int = 10) -> np.ndarray:
    """Share of samples predicted as each class, (n_classes,) summing to 1."""
    y = np.asarray(labels, dtype=np.int64).ravel()
    if y.size == 0:
        return np.zeros(n_classes)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be in 0..{n_classes - 1}")
    return np.bincount(y, minlength=n_classes) / y.size


def classes_covered(labels, n_classes: int = 10, min_share: float = 0.0) -> int:
    """Number of classes predicted for more than ``min_share`` of the samples (0: at least one)."""
    hist = class_histogram(labels, n_classes)
    return int((hist > min_share).sum())


@torch.no_grad()
def classifier_features(classifier, images: torch.Tensor, batch_size: int = 500
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate-layer features (n, 128) and class probabilities (n, n_classes) of images
    (n, 1, s, s) in [0, 1] under a :class:`unsup.models.classifier.DigitClassifier` (the
    128-unit dense layer after its ReLU, before dropout and the last layer)."""
    classifier.eval()
    body, head = classifier.net[:-2], classifier.net[-1]
    feats, probs = [], []
    for i in range(0, len(images), batch_size):
        h = body(images[i:i + batch_size].to(classifier.device))
        feats.append(h.cpu().double().numpy())
        probs.append(torch.softmax(head(h), dim=1).cpu().double().numpy())
    return np.concatenate(feats), np.concatenate(probs)
