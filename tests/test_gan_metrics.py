"""2-D GAN data sets and the GAN metrics, on cases with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unsup.data import toy2d
from unsup.metrics import gan as M


# -- data ------------------------------------------------------------------------------------------
def test_ring_has_eight_distinct_modes_at_2pi_k_over_8():
    mu = toy2d.ring_means()
    assert mu.shape == (8, 2)
    assert np.allclose(np.linalg.norm(mu, axis=1), 1.0)
    assert np.allclose(mu[0], [1.0, 0.0]) and np.allclose(mu[2], [0.0, 1.0])
    assert np.allclose(mu[1], [math.sqrt(0.5), math.sqrt(0.5)])
    gaps = np.linalg.norm(mu - np.roll(mu, 1, axis=0), axis=1)
    assert np.allclose(gaps, 2 * math.sin(math.pi / 8))  # evenly spaced, none repeated
    # the well-known bug: linspace(0, 2π, 8) repeats the first mode, leaving 7
    bad = np.linspace(0, 2 * np.pi, 8)
    bad_mu = np.stack([np.cos(bad), np.sin(bad)], 1)
    assert len(np.unique(bad_mu.round(6), axis=0)) == 7
    assert len(np.unique(mu.round(6), axis=0)) == 8


def test_grid_means():
    mu = toy2d.grid_means()
    assert mu.shape == (25, 2)
    assert {tuple(p) for p in mu.tolist()} == {(a, b) for a in (-4.0, -2.0, 0.0, 2.0, 4.0)
                                               for b in (-4.0, -2.0, 0.0, 2.0, 4.0)}


def test_mixture_training_set_is_seeded_and_indexable():
    a, b = toy2d.ring(n=5_000, seed=3), toy2d.ring(n=5_000, seed=3)
    assert len(a) == 5_000 and torch.equal(a.points, b.points)
    assert a.fingerprint() == b.fingerprint() != toy2d.ring(n=5_000, seed=4).fingerprint()
    batch = a[torch.tensor([0, 10, 20])]
    assert batch.shape == (3, 2) and batch.dtype == torch.float32
    assert torch.equal(batch[1], a.points[10]) and a[5].shape == (1, 2)
    # each point sits σ-close to its component's mean; σ is recovered
    resid = a.points.numpy() - a.means[a.components]
    assert resid.std() == pytest.approx(toy2d.RING_SIGMA, rel=0.05)
    counts = np.bincount(a.components, minlength=8)
    assert counts.min() > 500  # equal weights: ~625 each
    card = a.card()
    assert card["name"] == "ring" and card["n_modes"] == 8 and card["sigma"] == 0.01
    g = toy2d.grid(n=5_000)
    assert len(g.means) == 25 and g.sigma == toy2d.GRID_SIGMA == 0.05
    fresh = a.sample(100, seed=9)
    assert fresh.shape == (100, 2) and not np.allclose(fresh, a.points[:100].numpy())


def test_user_points_make_a_mixture_and_bad_input_is_refused_with_a_reason():
    ds = toy2d.user_points([[0.0, 0.0], [1.0, 2.0]], sigma=0.1, n=1_000)
    assert ds.means.shape == (2, 2) and ds.name == "points"
    assert set(np.unique(ds.components)) == {0, 1}
    with pytest.raises(ValueError, match="click at least one point"):
        toy2d.user_points([])
    with pytest.raises(ValueError, match="Point 2"):
        toy2d.user_points([[0, 0], [np.nan, 1]])
    with pytest.raises(ValueError, match=r"\(x, y\) pairs"):
        toy2d.user_points([[0, 0, 0]])
    with pytest.raises(ValueError, match="at most"):
        toy2d.user_points(np.zeros((toy2d.MAX_USER_POINTS + 1, 2)))
    with pytest.raises(ValueError, match="positive"):
        toy2d.user_points([[0, 0]], sigma=0)
    with pytest.raises(ValueError, match="numbers"):
        toy2d.user_points([["a", "b"]])


# -- mode counting ---------------------------------------------------------------------------------
def test_mode_stats_on_a_known_answer():
    mu, sigma = toy2d.ring_means(), 0.01
    rng = np.random.default_rng(0)
    parts = [mu[k] + 0.5 * sigma * rng.standard_normal((100, 2)) for k in range(5)]  # 5 modes
    parts.append(mu[5] + 0.5 * sigma * rng.standard_normal((10, 2)))  # 10 samples: too few
    parts.append(np.zeros((50, 2)))  # 50 samples at the centre: low quality
    parts.append(mu[6] + np.array([[4 * sigma, 0.0]]))  # just outside 3σ of mode 6
    x = np.concatenate(parts)
    s = M.mode_stats(x, mu, sigma)
    assert s["modes"] == 5 and s["n_modes"] == 8 and s["n"] == 561
    assert s["hq"] == pytest.approx(510 / 561)
    assert s["counts"] == [100, 100, 100, 100, 100, 10, 0, 0]
    assert s["captured"] == [True] * 5 + [False] * 3
    # the papers' rule (one high-quality sample is enough) also counts mode 5
    assert M.mode_stats(x, mu, sigma, min_count=1)["modes"] == 6


def test_mode_stats_of_the_data_itself():
    data = toy2d.grid(n=2_500, seed=5)
    s = M.mode_stats(data.points.numpy(), data.means, data.sigma)
    assert s["modes"] == 25
    assert s["hq"] > 0.98  # P(|N(0, I_2)| < 3) = 1 - exp(-4.5) = 0.989
    collapsed = np.repeat(data.means[:1], 2_500, axis=0)
    assert M.mode_stats(collapsed, data.means, data.sigma)["modes"] == 1


# -- Fréchet distance and kernel distance ---------------------------------------------------------
def test_frechet_distance_of_identical_sets_is_zero():
    f = np.random.default_rng(0).standard_normal((500, 6))
    assert M.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_closed_form_for_gaussians():
    # diagonal covariances: ||μ1 - μ2||² + Σ (σ1_i - σ2_i)²
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = 1.0 + 4.0 + (4.0 + 1.0 + 0.0)
    got = M.frechet_distance_gaussians(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2))
    assert got == pytest.approx(expected)
    # a non-commuting pair against the matrix square root written out
    from scipy.linalg import sqrtm
    a = np.array([[2.0, 0.8], [0.8, 1.0]])
    b = np.array([[1.0, -0.3], [-0.3, 0.5]])
    ref = np.trace(a + b - 2 * np.real(sqrtm(a @ b)))
    assert M.frechet_distance_gaussians([0, 0], a, [0, 0], b) == pytest.approx(ref)


def test_frechet_distance_on_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    n = 20_000
    a = rng.standard_normal((n, 2)) * [1.0, 2.0]
    b = rng.standard_normal((n, 2)) * [1.0, 1.0] + [3.0, 0.0]
    # 9 (means) + (2 - 1)² (second std) = 10
    assert M.frechet_distance(a, b) == pytest.approx(10.0, rel=0.03)


def test_kernel_distance():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1_000, 8))
    b = rng.standard_normal((1_000, 8))
    same, _ = M.kernel_distance(a, a, n_subsets=20, subset_size=300)
    other_sample, _ = M.kernel_distance(a, b, n_subsets=20, subset_size=300)
    shifted, sd = M.kernel_distance(a, b + 1.0, n_subsets=20, subset_size=300)
    assert abs(same) < 0.02 and abs(other_sample) < 0.02
    assert shifted > 0.5 and shifted > 10 * sd


def test_mmd_closed_form_on_tiny_sets():
    # d = 1: k(a, b) = (ab + 1)^3. x = {0, 1}, y = {0}: unbiased terms
    # xx: k(0,1) = 1 (twice, over 2 pairs) -> 1; yy: needs 2 samples, so use y = {0, 0}: 1
    # xy: mean of k(0,0)=1, k(0,0)=1, k(1,0)=1, k(1,0)=1 -> 1; MMD² = 1 + 1 - 2 = 0
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [0.0]])
    assert M.mmd2_unbiased(x, y) == pytest.approx(0.0)
    # x = {1, -1}, y = {0, 0}: xx = k(1,-1) = 0; yy = 1; xy = 1 -> 0 + 1 - 2 = -1
    assert M.mmd2_unbiased(np.array([[1.0], [-1.0]]), y) == pytest.approx(-1.0)


# -- precision and recall --------------------------------------------------------------------------
def test_precision_recall_identical_and_disjoint():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((400, 4))
    pr = M.precision_recall(a, a, k=3)
    assert pr == {"precision": 1.0, "recall": 1.0, "k": 3}
    far = rng.standard_normal((400, 4)) + 100.0
    pr = M.precision_recall(a, far)
    assert pr["precision"] == 0.0 and pr["recall"] == 0.0


def test_precision_recall_of_a_collapsed_generator():
    # real: two well separated clusters; generated: only the first one
    rng = np.random.default_rng(4)
    real = np.concatenate([rng.standard_normal((300, 2)), rng.standard_normal((300, 2)) + 50])
    fake = rng.standard_normal((600, 2))
    pr = M.precision_recall(real, fake)
    assert pr["precision"] > 0.95  # everything it makes looks real
    assert 0.4 < pr["recall"] < 0.55  # but half the real data is never made


def test_knn_radii():
    x = np.array([[0.0], [1.0], [3.0], [6.0]])
    # k = 1: nearest other point; k = 2: second nearest
    assert M.knn_radii(x, k=1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert M.knn_radii(x, k=2).tolist() == [3.0, 2.0, 3.0, 5.0]


# -- classes -------------------------------------------------------------------------------------
def test_class_histogram_and_coverage():
    labels = np.array([0, 0, 1, 3, 3, 3, 9, 9])
    hist = M.class_histogram(labels)
    assert hist.tolist() == [0.25, 0.125, 0, 0.375, 0, 0, 0, 0, 0, 0.25]
    assert M.classes_covered(labels) == 4
    assert M.classes_covered(labels, min_share=0.2) == 3
    with pytest.raises(ValueError, match="0..9"):
        M.class_histogram([10])


def test_classifier_features():
    from unsup.models.classifier import ClassifierConfig, DigitClassifier

    clf = DigitClassifier(ClassifierConfig.tiny())
    x = torch.rand(7, 1, 8, 8)
    feats, probs = M.classifier_features(clf, x, batch_size=3)
    assert feats.shape == (7, 128) and probs.shape == (7, 10)
    assert np.allclose(probs.sum(1), 1.0)
    assert np.allclose(probs, clf.predict_proba(x).numpy(), atol=1e-6)


def test_sampled_metrics_over_seeds_keep_the_mean_and_each_seed():
    from unsup.metrics import seeds as S

    runs = [{"fd": 10.0, "modes": 8, "n": 5, "extra_metrics": {"shares": [0.2, 0.8]}},
            {"fd": 12.0, "modes": 8, "n": 5, "extra_metrics": {"shares": [0.4, 0.6]}},
            {"fd": 14.0, "modes": 7, "n": 5, "extra_metrics": {"shares": [0.3, 0.7]}}]
    out = S.combine(runs, [1, 2, 3], ("fd", "modes"), digits={"modes": 2},
                    extra_keys=("shares",))
    assert out["fd"] == 12.0 and out["modes"] == 7.67 and out["n"] == 5
    assert out["seeds"] == [1, 2, 3] and out["per_seed"]["fd"] == [10.0, 12.0, 14.0]
    assert out["extra_metrics"]["shares"] == [0.3, 0.7]
    assert S.spread(out, "fd") == {"mean": 12.0, "std": 2.0, "min": 10.0, "max": 14.0, "n": 3}
    assert S.spread_text(out, "fd") == "12.0 ± 2.0 (3 seeds)"
    # a count every seed agrees on stays a count; a one-draw card shows just its value
    assert S.combine(runs[:2], [1, 2], ("modes",))["modes"] == 8
    assert S.spread_text({"fd": 3.14159}, "fd", "{:.2f}") == "3.14"
