"""Image-restoration metrics: PSNR and SSIM per image, computed by scikit-image (a kept,
widely used implementation rather than our own), plus the degradation and the bicubic baseline
of super-resolution (:func:`downscale`, :func:`bicubic_up`, defined beside the model in
:mod:`unsup.models.superres` so that the model's training input and every evaluation use one
function).

Both metrics compare a restored image with its ground truth; higher is better for both.

- PSNR (dB) = 10 log10(data_range² / MSE): a pure pixel-accuracy score (an MSE-trained model
  maximises it). Identical images give +inf.
- SSIM (Wang et al. 2004) in [-1, 1], 1 = identical: local means, variances and covariance
  compared in a sliding window. scikit-image's defaults are kept: a 7x7 uniform window, K1 =
  0.01, K2 = 0.03, sample (n - 1) covariances, the mean over positions whose window lies fully
  inside the image; for colour, the mean over channels. The window is shrunk (to the largest
  odd size that fits) only for images smaller than 7 px.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from unsup.models.superres import bicubic_up, downscale

__all__ = ["psnr", "ssim", "bicubic_up", "downscale"]

SSIM_WINDOW = 7
"""Side of SSIM's sliding window (scikit-image's default; fits 28x28 and 64x64 outputs)."""


def _as_batch(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """(n, c, h, w) float64 numpy array of a tensor or array (a single (c, h, w) image is made a
    batch of one)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (n, c, h, w), got {x.shape}")
    return x


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_batch(a), _as_batch(b)
    if a.shape != b.shape:
        raise ValueError(f"image batches differ in shape: {a.shape} vs {b.shape}")
    return a, b


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor,
         data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of each image pair.

    Parameters
    ----------
    a, b : array or tensor, shape (n, c, h, w)
        Restored and reference images (the order does not matter), values in [0, data_range].
    data_range : float
        The largest possible pixel value minus the smallest (1.0 for images in [0, 1]).

    Returns
    -------
    (n,) float64 array; +inf where a pair is identical.
    """
    a, b = _pair(a, b)
    out = np.empty(len(a))
    for i in range(len(a)):
        if np.array_equal(a[i], b[i]):
            out[i] = np.inf  # (scikit-image would divide by zero and warn)
        else:
            out[i] = peak_signal_noise_ratio(b[i], a[i], data_range=data_range)
    return out


def ssim(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor,
         data_range: float = 1.0) -> np.ndarray:
    """Structural similarity (scikit-image's ``structural_similarity``, its defaults; see the
    module docstring) of each image pair.

    Parameters
    ----------
    a, b : array or tensor, shape (n, c, h, w)
        Restored and reference images, values in [0, data_range]; c = 1 (grey) or 3 (colour:
        the mean of the per-channel SSIMs).
    data_range : float
        The largest possible pixel value minus the smallest.

    Returns
    -------
    (n,) float64 array in [-1, 1].
    """
    a, b = _pair(a, b)
    side = min(a.shape[-2:])
    win = min(SSIM_WINDOW, side if side % 2 else side - 1)
    if win < 3:
        raise ValueError(f"images of {a.shape[-2]}x{a.shape[-1]} px are too small for SSIM")
    out = np.empty(len(a))
    for i in range(len(a)):
        if a.shape[1] == 1:
            out[i] = structural_similarity(a[i, 0], b[i, 0], win_size=win,
                                           data_range=data_range)
        else:
            out[i] = structural_similarity(a[i], b[i], win_size=win, data_range=data_range,
                                           channel_axis=0)
    return out
