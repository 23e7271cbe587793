"""The evaluation protocol of unsupervised landmark discovery (Thewlis et al. 2017; Jakab et al.
2018, section 4.1), plus equivariance.

- Landmark regression: freeze the detector, fit a linear regression from its K keypoints (2K
  numbers, plus a bias) to the L annotated landmarks (2L numbers) on the *train* split, and report
  the mean landmark error on the *held-out* split as a percentage of the inter-ocular distance
  (the distance between the two annotated eye centres of each image). Jakab et al. report 3.19%
  on MAFL with K = 10.
- Baselines: the mean shape (every held-out face gets the train split's mean landmarks) and the
  same regression on a detector with random weights.
- Equivariance: a detector is equivariant to a warp T when the keypoints of the warped image are
  the warped keypoints; the error is the mean distance between the two, as a percentage of the
  image width.

Keypoints and landmarks are (n, K, 2) and (n, L, 2) arrays of normalised (x, y) in [-1, 1]
(image width = 2).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

Detector = Callable[[torch.Tensor], torch.Tensor]
"""images (b, c, s, s) -> keypoints (b, K, 2)."""


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


@torch.no_grad()
def detect(detector: Detector, images, batch_size: int = 256) -> np.ndarray:
    """Keypoints of ``images`` (a tensor or anything indexable by a range) in batches,
    (n, K, 2). A :class:`torch.nn.Module` detector is put in eval mode first."""
    if isinstance(detector, torch.nn.Module):
        detector.eval()
    n = len(images)
    out = []
    for i in range(0, n, batch_size):
        x = images[i:min(n, i + batch_size)] if isinstance(images, torch.Tensor) else \
            images[np.arange(i, min(n, i + batch_size))]
        out.append(_np(detector(torch.as_tensor(x).float())))
    return np.concatenate(out)


def interocular(landmarks, eyes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Distance between the two eye landmarks of each image, (n,)."""
    lm = _np(landmarks)
    return np.linalg.norm(lm[:, eyes[0]] - lm[:, eyes[1]], axis=-1)


def landmark_error(pred, true, eyes: tuple[int, int] = (0, 1)) -> float:
    """Mean over images and landmarks of ||pred - true|| / inter-ocular distance, in percent."""
    pred, true = _np(pred), _np(true)
    if pred.shape != true.shape:
        raise ValueError(f"predicted landmarks {pred.shape} and annotations {true.shape} differ")
    d = np.linalg.norm(pred - true, axis=-1)  # (n, L)
    return float(100 * (d / interocular(true, eyes)[:, None]).mean())


class LandmarkRegressor:
    """Linear map from keypoints (n, K, 2) to landmarks (n, L, 2), least squares with a bias.

    ``ridge`` > 0 adds ``ridge * mean(diag(X^T X)) * ||W||^2`` (not on the bias); the default 0
    is plain least squares (minimum-norm where keypoints are collinear, e.g. dead keypoints).
    """

    def __init__(self, ridge: float = 0.0):
        self.ridge = float(ridge)

    def fit(self, keypoints, landmarks) -> "LandmarkRegressor":
        kp, lm = _np(keypoints), _np(landmarks)
        if len(kp) != len(lm):
            raise ValueError(f"{len(kp)} keypoint rows but {len(lm)} landmark rows")
        x = kp.reshape(len(kp), -1)
        y = lm.reshape(len(lm), -1)
        self.x_mean_, self.y_mean_ = x.mean(0), y.mean(0)
        xc, yc = x - self.x_mean_, y - self.y_mean_
        if self.ridge > 0:
            a = xc.T @ xc
            a = a + self.ridge * np.trace(a) / len(a) * np.eye(len(a))
            self.coef_ = np.linalg.solve(a, xc.T @ yc)  # (2K, 2L)
        else:  # minimum-norm least squares: collinear (dead) keypoints are harmless
            self.coef_ = np.linalg.lstsq(xc, yc, rcond=None)[0]
        self.n_landmarks_ = lm.shape[1]
        return self

    def predict(self, keypoints) -> np.ndarray:
        x = _np(keypoints).reshape(len(keypoints), -1)
        return ((x - self.x_mean_) @ self.coef_ + self.y_mean_).reshape(len(x), -1, 2)


def regression_error(kp_train, lm_train, kp_test, lm_test, *, eyes=(0, 1),
                     ridge: float = 0.0) -> float:
    """The protocol's number: fit on train, error on held-out, % of inter-ocular distance."""
    reg = LandmarkRegressor(ridge).fit(kp_train, lm_train)
    return landmark_error(reg.predict(kp_test), lm_test, eyes)


def mean_shape_error(lm_train, lm_test, *, eyes=(0, 1)) -> float:
    """Baseline: predict the train split's mean landmarks for every held-out image."""
    mean = _np(lm_train).mean(0, keepdims=True)
    lm_test = _np(lm_test)
    return landmark_error(np.repeat(mean, len(lm_test), 0), lm_test, eyes)


def equivariance_error(detector: Detector, images: torch.Tensor, warp) -> float:
    """Mean ||detector(T(x)) - T(detector(x))|| over images and keypoints, in percent of the
    image width. ``warp`` is an :class:`unsup.data.faces.Warp` (one per image, or one for all)
    with ``apply(images)`` and ``map_points(points)``."""
    images = torch.as_tensor(images).float()
    b = len(images)
    if warp.theta.shape[0] == 1 and b > 1:
        from unsup.data.faces import Warp

        warp = Warp(warp.theta.expand(b, -1, -1),
                    None if warp.flow is None else warp.flow.expand(b, -1, -1, -1))
    kp = torch.as_tensor(detect(detector, images), dtype=torch.float32)
    kp_warped = torch.as_tensor(detect(detector, warp.apply(images)), dtype=torch.float32)
    moved = warp.map_points(kp)
    return float(100 * (kp_warped - moved).norm(dim=-1).mean() / 2)


def evaluate(detector: Detector, train_images, lm_train, test_images, lm_test, *,
             eyes=(0, 1)) -> dict[str, float]:
    """The full protocol for one detector: regression error on held-out data and the mean-shape
    baseline, both in % of the inter-ocular distance (lower is better)."""
    kp_tr, kp_te = detect(detector, train_images), detect(detector, test_images)
    return {"error": regression_error(kp_tr, lm_train, kp_te, lm_test, eyes=eyes),
            "mean_shape": mean_shape_error(lm_train, lm_test, eyes=eyes),
            "n_train": int(len(kp_tr)), "n_test": int(len(kp_te))}
