"""The landmark-regression protocol, its baselines and the equivariance error, on known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup.data.faces import Faces, affine_warp, pixel_centres, random_warps, WarpSpec
from unsup.metrics.keypoints import (LandmarkRegressor, equivariance_error, evaluate,
                                     interocular, landmark_error, mean_shape_error,
                                     regression_error)

torch.set_num_threads(1)


def _landmarks():
    tr, te = Faces("train", 32), Faces("heldout", 32)
    return tr.landmarks(np.arange(600)).numpy(), te.landmarks(np.arange(300)).numpy()


def test_landmark_error_is_relative_to_the_interocular_distance():
    true = np.array([[[-0.5, 0.0], [0.5, 0.0], [0.0, 0.5]]])  # eyes 1.0 apart
    pred = true + np.array([0.1, 0.0])  # every landmark 0.1 off
    assert interocular(true)[0] == pytest.approx(1.0)
    assert landmark_error(pred, true) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="differ"):
        landmark_error(pred[:, :2], true)


def test_regression_on_perfect_keypoints_is_exact():
    lm_tr, lm_te = _landmarks()
    # "discovered" keypoints: a fixed linear mix of the landmarks, rotated, scaled and shifted,
    # plus three points that are affine functions of them: regression recovers the landmarks
    g = np.random.default_rng(0)
    mix = g.normal(size=(10, 10))

    def detector(lm):
        return (lm.reshape(len(lm), -1) @ mix + 0.3).reshape(len(lm), 5, 2)

    err = regression_error(detector(lm_tr), lm_tr, detector(lm_te), lm_te)
    assert err < 1e-3


def test_mean_shape_baseline_is_clearly_worse_on_varied_pose():
    lm_tr, lm_te = _landmarks()
    base = mean_shape_error(lm_tr, lm_te)
    assert base > 20.0  # percent of the inter-ocular distance
    # and a detector that only knows the eyes beats it: it still misses nose and mouth shape
    eyes_only = regression_error(lm_tr[:, :2], lm_tr, lm_te[:, :2], lm_te)
    assert eyes_only < 0.7 * base


def test_regression_is_fitted_on_train_and_scored_on_heldout():
    lm_tr, lm_te = _landmarks()
    g = np.random.default_rng(1)
    noise_tr = g.normal(size=(len(lm_tr), 40, 2))  # pure noise keypoints, many of them
    noise_te = g.normal(size=(len(lm_te), 40, 2))
    reg = LandmarkRegressor().fit(noise_tr, lm_tr)
    train_err = landmark_error(reg.predict(noise_tr), lm_tr)
    heldout_err = regression_error(noise_tr, lm_tr, noise_te, lm_te)
    # on train, 80 noise features fit something; held-out shows it is no better than the mean
    assert train_err < heldout_err
    assert heldout_err > 0.95 * mean_shape_error(lm_tr, lm_te)


def _blobs(n: int, s: int = 48, seed: int = 0):
    """Images with three Gaussian blobs, one per channel, and their centres (n, 3, 2)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(n, 3, 2, generator=g) * 0.8 - 0.4
    c = pixel_centres(s)
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    d2 = (xx - centres[..., 0, None, None]) ** 2 + (yy - centres[..., 1, None, None]) ** 2
    return torch.exp(-d2 / (2 * 0.06 ** 2)), centres


def _centroid_detector(x: torch.Tensor) -> torch.Tensor:
    """Hand-made, equivariant by construction: the intensity centroid of each channel."""
    c = pixel_centres(x.shape[-1])
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    m = x.sum((2, 3))
    return torch.stack([(x * xx).sum((2, 3)) / m, (x * yy).sum((2, 3)) / m], -1)


def test_equivariance_of_an_equivariant_detector_is_zero():
    x, centres = _blobs(8)
    assert torch.allclose(_centroid_detector(x), centres, atol=1e-3)
    w = affine_warp(torch.linspace(-40, 40, 8), torch.linspace(0.85, 1.15, 8),
                    torch.zeros(8, 2) + 0.05)
    assert equivariance_error(_centroid_detector, x, w) < 0.1  # percent of the image width
    elastic = random_warps(8, WarpSpec(rotation=20, elastic=0.03), torch.Generator().manual_seed(1))
    assert equivariance_error(_centroid_detector, x, elastic) < 0.5


def test_equivariance_of_a_fixed_detector_is_the_warp_size():
    x, _ = _blobs(4)
    fixed = lambda im: torch.tensor([[0.5, 0.0]]).expand(len(im), 1, 2)  # noqa: E731
    w = affine_warp(90.0)  # the point (0.5, 0) moves to (0, 0.5): 0.707 units = 35% of width
    assert equivariance_error(fixed, x, w) == pytest.approx(100 * 0.5 ** 0.5 / 2, rel=1e-4)


def test_evaluate_reports_both_numbers():
    tr, te = Faces("train", 32), Faces("heldout", 32)
    x_tr, lm_tr = tr.arrays(200)
    x_te, lm_te = te.arrays(100)
    out = evaluate(_centroid_detector, x_tr, lm_tr, x_te, lm_te)
    assert set(out) >= {"error", "mean_shape", "n_train", "n_test"}
    assert out["n_train"] == 200 and out["n_test"] == 100
    assert out["mean_shape"] == pytest.approx(mean_shape_error(lm_tr, lm_te))
