"""Super-resolution (unsup.models.superres, unsup.metrics.images): PSNR and SSIM equal hand
computations, the degradation and the baseline keep constants, the generator maps 7x7 -> 28x28
and 16x16 -> 64x64 and starts as bicubic, training beats bicubic on held-out digits, the SRGAN
step moves both networks and refuses to run without its content network, and checkpoints resume
exactly (SRResNet and SRGAN). Tiny configs, one torch thread."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from unsup import checkpoints, kinds
from unsup.data.images import load_split
from unsup.metrics.images import bicubic_up, downscale, psnr, ssim
from unsup.models.superres import SRConfig, SuperResolution
from unsup.train import fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

C1, C2 = (0.01 * 1.0) ** 2, (0.03 * 1.0) ** 2  # SSIM's constants for data_range 1


@pytest.fixture()
def loadable():
    """The model class is known to the checkpoint loader (a built-in kind: nothing to do)."""
    assert kinds.model_class(SuperResolution.kind) is SuperResolution
    yield


def _mnist(split: str = "train", n: int | None = None) -> torch.Tensor:
    s = load_split("mnist")
    x = s.x_train if split == "train" else s.x_test
    return torch.from_numpy(x[:n].copy() if n else x.copy())


def _conv_features() -> nn.Module:
    """A fixed random conv + ReLU: a stand-in content network with spatial features."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        return nn.Sequential(nn.Conv2d(1, 4, 3, 1, 1), nn.ReLU())


# -- 1. metrics against hand computations ----------------------------------------------------------
def test_psnr_of_a_constant_offset_is_exactly_20_db():
    """MSE = 0.1² = 0.01 for every image -> 10 log10(1 / 0.01) = 20 dB; with data range 2 it is
    20 + 20 log10 2; numpy and torch inputs agree; identical images give +inf."""
    g = np.random.default_rng(0)
    a = g.uniform(0.0, 0.9, size=(3, 1, 8, 8))
    b = a + 0.1
    assert psnr(a, b) == pytest.approx([20.0] * 3, abs=1e-9)
    assert psnr(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx([20.0] * 3, abs=1e-9)
    assert psnr(a, b, data_range=2.0) == pytest.approx([20.0 + 20 * math.log10(2)] * 3, abs=1e-9)
    colour = g.uniform(0.0, 0.7, size=(2, 3, 8, 8))
    assert psnr(colour, colour + 0.3) == pytest.approx([10 * math.log10(1 / 0.09)] * 2, abs=1e-9)
    assert np.all(np.isinf(psnr(a, a)))


def _checkerboard(n: int = 7) -> np.ndarray:
    i, j = np.indices((n, n))
    return ((i + j) % 2 == 0).astype(np.float64)  # 25 ones, 24 zeros for n = 7


def test_ssim_equals_the_formula_worked_by_hand():
    """On a 7x7 image the 7x7 window sees the whole image once, so SSIM is Wang et al.'s
    formula with the image's own statistics (sample variances, n - 1 = 48). A checkerboard a
    has mean 25/49 and variance (25·24/49)/48 = 25/98.

    - b = 0.5 (flat): σ_b = σ_ab = 0, so
      SSIM = (2 μ_a 0.5 + C1) C2 / ((μ_a² + 0.25 + C1)(25/98 + C2));
    - b = 0.5 a + 0.25: μ_b = μ_a/2 + 1/4, σ_b² = σ_a²/4, σ_ab = σ_a²/2.
    """
    a = _checkerboard()
    mu, var = 25 / 49, 25 / 98
    flat = np.full_like(a, 0.5)
    want_flat = (2 * mu * 0.5 + C1) * C2 / ((mu**2 + 0.25 + C1) * (var + C2))
    assert ssim(a[None, None], flat[None, None]) == pytest.approx([want_flat], rel=1e-9)
    b = 0.5 * a + 0.25
    mu_b = mu / 2 + 0.25
    want = ((2 * mu * mu_b + C1) * (2 * var / 2 + C2)) / ((mu**2 + mu_b**2 + C1)
                                                          * (var + var / 4 + C2))
    assert ssim(a[None, None], b[None, None]) == pytest.approx([want], rel=1e-9)
    assert want_flat < 0.01 < want < 1.0
    # colour: the mean of the channels' SSIMs (here: flat, scaled, identical)
    rgb_a = np.stack([a, a, a])[None]
    rgb_b = np.stack([flat, b, a])[None]
    assert ssim(rgb_a, rgb_b) == pytest.approx([(want_flat + want + 1.0) / 3], rel=1e-9)


def test_ssim_of_identical_images_is_one_and_of_a_worse_copy_lower():
    x = _mnist("test", 4)
    assert ssim(x, x) == pytest.approx([1.0] * 4, abs=1e-12)
    noisy = (x + 0.2 * torch.rand(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    blurred = bicubic_up(downscale(x, 4), 4)
    s_noisy, s_blur = ssim(noisy, x), ssim(blurred, x)
    assert np.all(s_noisy < 1.0) and np.all(s_blur < 1.0)
    with pytest.raises(ValueError):
        ssim(x, x[:, :, :, :27])


# -- 2. the degradation and the baseline -----------------------------------------------------------
def test_downscale_averages_blocks_and_keeps_a_constant():
    """A constant image stays that constant (both down and bicubic up); a 4x4 image's 2x2
    blocks are averaged by hand; sizes not divisible by the scale are refused."""
    const = torch.full((2, 3, 28, 28), 0.37)
    assert torch.allclose(downscale(const, 4), torch.full((2, 3, 7, 7), 0.37))
    assert torch.allclose(bicubic_up(downscale(const, 4), 4), const, atol=1e-6)
    x = torch.arange(16.0).view(1, 1, 4, 4) / 16
    want = torch.tensor([[0 + 1 + 4 + 5, 2 + 3 + 6 + 7],
                         [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]) / 4 / 16
    assert torch.allclose(downscale(x, 2)[0, 0], want)
    with pytest.raises(ValueError):
        downscale(torch.zeros(1, 1, 30, 30), 4)
    assert float(bicubic_up(torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]]), 4).min()) >= 0.0


# -- 3. the networks ------------------------------------------------------------------------------
def test_shapes_digits_and_faces_and_the_untrained_generator_is_bicubic():
    """7x7 -> 28x28 (grey) and 16x16 -> 64x64 (RGB); the discriminator gives one logit per
    image at both sizes; with its zero-initialised tail the untrained generator equals
    bicubic interpolation, and ``upscale`` clamps to [0, 1]."""
    digits = SuperResolution(SRConfig(image_size=28, n_channels=1, width=8, n_blocks=1,
                                      adversarial_weight=0.01, d_width=4))
    lo = downscale(_mnist("test", 3), 4)
    assert lo.shape == (3, 1, 7, 7)
    out = digits.upscale(lo)
    assert out.shape == (3, 1, 28, 28)
    assert torch.equal(out, bicubic_up(lo, 4))
    assert digits.discriminator(out).shape == (3,)

    faces = SuperResolution(SRConfig(image_size=64, n_channels=3, width=8, n_blocks=1,
                                     adversarial_weight=0.01, d_width=4))
    lo = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for p in faces.generator.tail.parameters():
            p.fill_(0.5)  # a large correction: the output must still be clamped
    out = faces.upscale(lo)
    assert out.shape == (2, 3, 64, 64)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, bicubic_up(lo, 4))
    assert faces.discriminator(out).shape == (2,)
    assert SuperResolution(SRConfig.tiny()).discriminator is None  # SRResNet: no D


def test_losses_are_the_formulas():
    """Pixel loss: mean squared (or absolute) error; content loss with an identity feature
    network: the MSE of the images; neither depends on the weights."""
    a = torch.full((1, 1, 16, 16), 0.5)
    b = torch.full((1, 1, 16, 16), 0.2)
    mse = SuperResolution(SRConfig.tiny())
    assert float(mse.pixel_loss(a, b)) == pytest.approx(0.09, rel=1e-6)
    l1 = SuperResolution(SRConfig.tiny(pixel_loss="l1"))
    assert float(l1.pixel_loss(a, b)) == pytest.approx(0.3, rel=1e-6)
    mse.content_net = lambda x: 2.0 * x
    assert float(mse.content_loss(a, b)) == pytest.approx(4 * 0.09, rel=1e-6)
    with pytest.raises(ValueError, match="pixel loss"):
        SuperResolution(SRConfig.tiny(pixel_loss="l3"))


def test_shift_augmentation_rolls_each_image_within_its_range():
    """With shift k every training image is a roll of itself by some (dy, dx) in [-k, k]², not
    all by the same offset, drawn from the model's seeded generator; shift 0 changes nothing."""
    x = _mnist("train", 16)
    model = SuperResolution(SRConfig(shift=2))
    model.rng.manual_seed(3)
    out = model.augment(x)
    offsets = []
    for img, got in zip(x, out):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(torch.roll(img, shifts=(dy, dx), dims=(1, 2)), got)]
        assert found, "an augmented image is not a roll within the range"
        offsets.append(found[0])
    assert len(set(offsets)) > 1
    model.rng.manual_seed(3)
    assert torch.equal(model.augment(x), out)
    assert SuperResolution(SRConfig(shift=0)).augment(x) is x


# -- 4. training -----------------------------------------------------------------------------------
def test_training_beats_bicubic_on_held_out_digits():
    """80 steps of a small SRResNet on MNIST: held-out MSE falls below bicubic's (the start)
    by at least 20%, PSNR gains at least 1 dB and SSIM rises above bicubic's."""
    cfg = SRConfig(image_size=28, width=8, n_blocks=2, batch_size=16, lr=2e-3)
    model = SuperResolution(cfg)
    test = _mnist("test", 200)
    lo = downscale(test, 4)
    bic = bicubic_up(lo, 4)
    mse_bicubic = float((bic - test).pow(2).mean())
    fit(model, _mnist(), steps=80, device="cpu", log_every=80)
    out = model.upscale(lo)
    mse = float((out - test).pow(2).mean())
    assert mse < 0.8 * mse_bicubic, (mse, mse_bicubic)
    assert psnr(out, test).mean() > psnr(bic, test).mean() + 1.0
    assert ssim(out, test).mean() > ssim(bic, test).mean()


def test_srgan_step_moves_both_networks_and_needs_a_content_net():
    """Without a content network the SRGAN step refuses (and says what to set); with one, one
    step changes the generator and the discriminator, logs every term, leaves the content
    network untouched and keeps it out of the state dict."""
    model = SuperResolution(SRConfig.tiny(adversarial_weight=0.01, content_weight=0.1))
    batch = torch.nn.functional.interpolate(_mnist("train", 8), size=16, mode="area")
    with pytest.raises(ValueError, match="content_net"):
        model.train_step(batch)
    net = _conv_features()
    net_before = [p.clone() for p in net.parameters()]
    model.content_net = net
    assert model.content_net is net and not any(p.requires_grad for p in net.parameters())
    assert not any(k.startswith("content") or "_content" in k for k in model.state_dict())
    g0 = [p.clone() for p in model.generator.parameters()]
    d0 = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    logs = model.train_step(batch)
    assert {"d_loss", "d_real", "d_fake", "pixel", "content", "adv", "loss"} <= set(logs)
    assert all(math.isfinite(v) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.generator.parameters()))
    d1 = model.discriminator.state_dict()
    assert any(not torch.equal(d0[k], d1[k]) for k in d0 if "original" in k)  # weights moved
    assert all(torch.equal(a, b) for a, b in zip(net_before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


# -- 5. exact resume -------------------------------------------------------------------------------
@pytest.mark.parametrize("adversarial", [False, True])
def test_fit_resume_equals_an_uninterrupted_run(tmp_path, loadable, adversarial):
    """N steps, save, load with the optimizers (and, for SRGAN, the content network set again),
    M more == N + M straight: every weight and buffer (spectral norm's vectors included)."""
    n, m = 3, 2
    cfg = SRConfig.tiny(adversarial_weight=0.01 if adversarial else 0.0, content_weight=0.1)
    data = torch.nn.functional.interpolate(_mnist("train", 64), size=16, mode="area")

    def new() -> SuperResolution:
        model = SuperResolution(cfg)
        if adversarial:
            model.content_net = _conv_features()
        return model

    straight = new()
    fit(straight, data, steps=n + m, device="cpu", log_every=1)

    part = new()
    path = tmp_path / "run" / "model"
    res = fit(part, data, steps=n + m, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=1, should_stop=lambda: part.step_ >= n)
    assert res.stopped and part.step_ == n
    resumed = checkpoints.load(path, optimizer=True)
    assert type(resumed) is SuperResolution and resumed.step_ == n
    assert resumed.content_net is None  # an instrument, not part of the checkpoint
    if adversarial:
        resumed.content_net = _conv_features()
    fit(resumed, data, steps=m, device="cpu", log_every=1)
    assert resumed.step_ == straight.step_ == n + m
    a, b = straight.state_dict(), resumed.state_dict()
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    start = new().state_dict()
    assert any(not torch.equal(start[k], a[k]) for k in a)
    assert dataclasses.asdict(resumed.config) == dataclasses.asdict(cfg)
