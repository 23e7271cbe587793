"""Keypoint discovery by conditional image generation (Jakab et al. 2018): the bottleneck's
pieces against hand computations, exact resume, and a short run that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from unsup import checkpoints
from unsup.data.faces import Faces, WarpedPairs, WarpSpec
from unsup.models.keypoints import (KeypointConfig, KeypointModel, gaussian_maps,
                                    multiscale_l1, soft_argmax, ssim)
from unsup.train import fit

torch.set_num_threads(1)


def test_soft_argmax_of_a_delta_is_its_pixel_centre():
    h = w = 8
    maps = torch.full((2, 3, h, w), -1e4)
    spots = [[(0, 0), (7, 7), (2, 5)], [(3, 1), (6, 0), (4, 4)]]  # (row, col)
    for b, row in enumerate(spots):
        for k, (i, j) in enumerate(row):
            maps[b, k, i, j] = 0.0
    pts, prob = soft_argmax(maps)
    want = torch.tensor([[[(2 * j + 1) / w - 1, (2 * i + 1) / h - 1] for i, j in row]
                         for row in spots])
    assert torch.allclose(pts, want, atol=1e-6)
    assert torch.allclose(prob.sum((2, 3)), torch.ones(2, 3))


def test_soft_argmax_of_a_flat_map_is_the_centre():
    pts, _ = soft_argmax(torch.zeros(1, 2, 6, 6))
    assert torch.allclose(pts, torch.zeros(1, 2, 2), atol=1e-6)


def test_gaussian_maps_peak_at_the_points():
    pts = torch.tensor([[[-0.875, 0.375], [0.625, -0.375]]])  # centres of (row 5, col 0), (2, 6)
    g = gaussian_maps(pts, 8, 0.1)
    assert g.shape == (1, 2, 8, 8)
    assert divmod(int(g[0, 0].argmax()), 8) == (5, 0)
    assert divmod(int(g[0, 1].argmax()), 8) == (2, 6)
    assert float(g.max()) == pytest.approx(1.0)
    # one pixel (0.25 units) away from the peak: exp(-0.25^2 / (2 * 0.1^2))
    assert float(g[0, 0, 5, 1]) == pytest.approx(float(np.exp(-0.0625 / 0.02)), rel=1e-5)


def test_losses_against_hand_computation():
    x = torch.zeros(1, 1, 4, 4)
    y = torch.zeros(1, 1, 4, 4)
    y[0, 0, 0, 0] = 1.0  # one pixel off by 1
    # full: 1/16; half res: the 2x2 block mean 1/4 at one of 4 pixels -> 1/16; quarter: 1/16
    assert float(multiscale_l1(x, y, 3)) == pytest.approx(3 / 16)
    assert float(multiscale_l1(x, y, 1)) == pytest.approx(1 / 16)
    a = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert float(ssim(a, a)) == pytest.approx(1.0, abs=1e-5)
    assert float(ssim(a, 1 - a)) < 0.0  # anti-correlated structure
    noisy = (a + 0.1 * torch.rand(a.shape)).clamp(0, 1)
    assert float(ssim(a, noisy)) > float(ssim(a, torch.rand(a.shape)))


def test_shapes_and_ranges():
    cfg = KeypointConfig.tiny(ssim_weight=0.5)
    m = KeypointModel(cfg)
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        kp = m.keypoints(x)
    assert kp.shape == (3, 4, 2) and float(kp.abs().max()) <= 1
    with torch.no_grad():
        assert m.heatmaps(x).shape == (3, 4, 4, 4)
        assert m.render(x, kp).shape == (3, 3, 16, 16)
    losses = m.train_step(torch.stack([x, x], 1))
    assert set(losses) == {"l1", "dssim", "loss"}
    with pytest.raises(ValueError, match="source, target"):
        m.train_step(x)
    with pytest.raises(ValueError, match="multiple of 4"):
        KeypointModel(KeypointConfig.tiny(image_size=18))


def _tiny_pairs():
    return WarpedPairs(Faces("train", 16, n_train=64, n_heldout=16), variants=2)


def test_resume_equals_uninterrupted(tmp_path):
    data = _tiny_pairs()
    cfg = KeypointConfig.tiny()
    a = KeypointModel(cfg)
    fit(a, data, steps=5, checkpoint_path=tmp_path / "a")
    path = checkpoints.weights_path(tmp_path / "a")
    card = checkpoints.read_card(path)
    # rebuilt by hand (the family is not registered yet): weights, then optimizer state + RNG
    a2 = KeypointModel(KeypointConfig(**card["config"]))
    a2.load_state_dict(load_file(str(path)))
    a2.step_ = card["step"]
    checkpoints.load_optimizer(a2, path, card)
    fit(a2, data, steps=4)
    b = KeypointModel(cfg)
    fit(b, data, steps=9)
    assert a2.step_ == b.step_ == 9
    for (k, va), vb in zip(a2.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_short_training_lowers_the_reconstruction_loss():
    faces = Faces("train", 32, n_train=512, n_heldout=64)
    held = Faces("heldout", 32, n_train=512, n_heldout=64)
    data = WarpedPairs(faces, WarpSpec(), variants=8)
    test_pairs = WarpedPairs(held, WarpSpec(), variants=1, seed=99)[torch.arange(64)]
    m = KeypointModel(KeypointConfig(image_size=32, width=8, n_keypoints=6, batch_size=16,
                                     lr=2e-3))

    def held_l1():
        m.eval()
        with torch.no_grad():
            return float(m.loss(test_pairs[:, 0], test_pairs[:, 1])["l1"])

    before = held_l1()
    res = fit(m, data, steps=300, log_every=50)
    after = held_l1()
    assert after < 0.6 * before
    assert res.history[-1]["loss"] < res.history[0]["loss"]
