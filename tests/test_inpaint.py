"""Inpainting (unsup.models.inpaint): masks lie inside the image with the documented size, the
model and both baselines change only the hole (pixels outside it are the input's bit for bit),
the nearest-image baseline picks the right training image, the generator fills 28x28 grey digits
and 64x64 RGB faces, a step moves the generator (and the global and local discriminators when
adversarial), and checkpoints resume exactly. Tiny configs, one torch thread."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from unsup import checkpoints, kinds
from unsup.models.inpaint import (InpaintConfig, Inpainter, hole_boxes, hole_psnr, mean_fill,
                                  nearest_fill, quarter_masks, random_square_masks)
from unsup.train import fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _images(n: int, c: int = 1, s: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(seed))


def _only_hole_changed(out: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> None:
    known = (mask < 0.5).expand_as(x)
    assert out.shape == x.shape
    assert torch.equal(out[known], x[known])  # bit for bit
    assert not torch.equal(out[~known], x[~known])  # and the hole did change


# -- masks ------------------------------------------------------------------------------------------
def test_masks_lie_inside_the_image_with_the_documented_size():
    """Square masks: one side x side block of ones per image, anywhere inside (every corner
    position reachable), the same for the same generator state; a (lo, hi) side varies within
    it; quarter masks: a (s/2)² square, and with ``aligned`` one of the four quadrants."""
    g = torch.Generator().manual_seed(0)
    m = random_square_masks(400, 28, 12, g)
    assert m.shape == (400, 1, 28, 28) and m.dtype == torch.float32
    assert set(m.unique().tolist()) == {0.0, 1.0}
    assert torch.all(m.sum(dim=(1, 2, 3)) == 144)
    rows = m[:, 0].amax(dim=2)  # (n, 28): rows touched by the hole
    cols = m[:, 0].amax(dim=1)
    assert torch.all(rows.sum(1) == 12) and torch.all(cols.sum(1) == 12)  # a 12x12 block
    tops = rows.argmax(1)
    assert int(tops.min()) == 0 and int(tops.max()) == 16  # every offset 0..16 reachable
    assert torch.equal(m, random_square_masks(400, 28, 12, torch.Generator().manual_seed(0)))

    varied = random_square_masks(300, 16, (3, 6), torch.Generator().manual_seed(1))
    sides = varied[:, 0].amax(dim=2).sum(1)
    assert set(sides.long().tolist()) == {3, 4, 5, 6}
    assert torch.equal(varied.sum(dim=(1, 2, 3)), sides**2)

    q = quarter_masks(50, 64, torch.Generator().manual_seed(2))
    assert q.shape == (50, 1, 64, 64) and torch.all(q.sum(dim=(1, 2, 3)) == 32 * 32)
    aligned = quarter_masks(40, 64, torch.Generator().manual_seed(3), aligned=True)
    quads = {(int(a[0, :32].sum() > 0), int(a[0, :, :32].sum() > 0)) for a in aligned}
    assert len(quads) == 4
    for a in aligned:
        r, c = torch.nonzero(a[0])[0].tolist()
        assert r in (0, 32) and c in (0, 32) and float(a.sum()) == 32 * 32
    with pytest.raises(ValueError):
        random_square_masks(1, 16, 17)


def test_the_local_crop_is_centred_on_the_hole_and_stays_inside():
    mask = torch.zeros(3, 1, 28, 28)
    mask[0, 0, 10:22, 4:16] = 1  # centre (16, 10): crop 14 at (9, 3)
    mask[1, 0, 0:12, 16:28] = 1  # against the corner: clamped to (0, 14)
    boxes = hole_boxes(mask, 14)  # mask[2] empty: the centred window
    assert boxes.tolist() == [[9, 3], [0, 14], [7, 7]]


# -- fill: only the hole changes ------------------------------------------------------------------
@pytest.mark.parametrize("adversarial", [False, True])
def test_fill_shapes_digits_and_faces_and_the_known_pixels_are_the_input(adversarial):
    """28x28 grey and 64x64 RGB: fill returns the input's shape, in [0, 1], identical to the
    input outside the hole and different inside; a soft mask is binarised at 0.5; the
    discriminator gives one logit per image."""
    w = 0.01 if adversarial else 0.0
    for size, c, masks in ((28, 1, random_square_masks(3, 28, 12, torch.Generator().manual_seed(0))),
                           (64, 3, quarter_masks(2, 64, torch.Generator().manual_seed(0)))):
        model = Inpainter(InpaintConfig(image_size=size, n_channels=c, width=4, n_dilated=2,
                                        adversarial_weight=w, d_width=4))
        x = _images(len(masks), c, size)
        out = model.fill(x, masks)
        _only_hole_changed(out, x, masks)
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        soft = masks * 0.7 + 0.2  # 0.2 outside (known), 0.9 inside (hole)
        assert torch.equal(model.fill(x, soft), out)
        if adversarial:
            boxes = hole_boxes(masks, model.discriminator.local_size)
            assert model.discriminator(out, boxes).shape == (len(x),)
        else:
            assert model.discriminator is None


def test_the_generator_never_sees_the_hole():
    """Changing the hole's pixels of the input does not change what fill puts there."""
    model = Inpainter(InpaintConfig.tiny())
    x = _images(4)
    mask = random_square_masks(4, 16, 6, torch.Generator().manual_seed(1))
    y = torch.where(mask.bool(), torch.rand_like(x), x)
    assert torch.equal(model.fill(x, mask), model.fill(y, mask))


def test_mean_fill_puts_the_mean_in_the_hole_only():
    x = _images(5, 3, 16)
    mean = torch.full((3, 16, 16), 0.25)
    mask = random_square_masks(5, 16, 5, torch.Generator().manual_seed(2))
    out = mean_fill(x, mask, mean)
    _only_hole_changed(out, x, mask)
    assert torch.all(out[mask.bool().expand_as(x)] == 0.25)


def test_nearest_fill_copies_the_training_image_closest_on_the_known_pixels():
    """A constructed case: training image 2 equals the query outside the hole but differs
    inside; image 0 equals the query *inside* the hole (which must not count) and differs a
    little outside; the others are far. Image 2 is chosen and lends exactly its hole pixels."""
    g = torch.Generator().manual_seed(3)
    q = torch.rand(1, 1, 16, 16, generator=g)
    mask = torch.zeros(1, 1, 16, 16)
    mask[0, 0, 4:10, 5:11] = 1
    hole = mask.bool()
    train = torch.rand(6, 1, 16, 16, generator=g)
    train[2] = torch.where(hole[0], torch.rand(1, 16, 16, generator=g), q[0])
    train[0] = torch.where(hole[0], q[0], (q[0] + 0.05).clamp(0, 1))
    out, idx = nearest_fill(q, mask, train, return_index=True)
    assert idx.tolist() == [2]
    assert torch.equal(out[hole], train[2:3][hole])
    assert torch.equal(out[~hole], q[~hole])
    # a batch of several queries, in small chunks: each finds its own source
    queries = train[[4, 1, 5]].clone()
    masks = random_square_masks(3, 16, 6, torch.Generator().manual_seed(4))
    queries = torch.where(masks.bool(), torch.zeros_like(queries), queries)
    out, idx = nearest_fill(queries, masks, train, return_index=True, chunk=2)
    assert idx.tolist() == [4, 1, 5]
    assert torch.equal(out, train[[4, 1, 5]])


def test_hole_psnr_is_the_formula():
    a = torch.zeros(2, 1, 8, 8)
    b = a.clone()
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, :4, :4] = 1
    b[mask.bool()] = 0.1  # the hole differs by 0.1: 20 dB
    b[:, :, 6:, 6:] = 0.9  # outside the hole: does not count
    assert hole_psnr(a, b, mask).tolist() == pytest.approx([20.0, 20.0], abs=1e-5)


# -- training ----------------------------------------------------------------------------------------
def test_a_step_moves_the_generator_and_both_discriminators():
    """A context-encoder step changes the generator; an adversarial step also changes the
    global and the local discriminator trunks and the shared logit, and logs every term.
    Before ``adv_start`` the discriminator does not train."""
    x = _images(8)
    ce = Inpainter(InpaintConfig.tiny())
    g0 = [p.clone() for p in ce.generator.parameters()]
    logs = ce.train_step(x)
    assert {"pixel", "psnr", "loss"} <= set(logs) and all(math.isfinite(v) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, ce.generator.parameters()))

    model = Inpainter(InpaintConfig.tiny(adversarial_weight=0.1))
    g0 = [p.clone() for p in model.generator.parameters()]
    d0 = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    logs = model.train_step(x)
    assert {"d_loss", "d_real", "d_fake", "pixel", "adv", "loss"} <= set(logs)
    assert all(math.isfinite(v) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.generator.parameters()))
    d1 = model.discriminator.state_dict()
    for part in ("global_net.", "local_net.", "logit."):
        assert any(not torch.equal(d0[k], d1[k]) for k in d0
                   if k.startswith(part) and "original" in k), part

    late = Inpainter(InpaintConfig.tiny(adversarial_weight=0.1, adv_start=5))
    d0 = {k: v.clone() for k, v in late.discriminator.state_dict().items()}
    logs = late.train_step(x)
    assert "adv" not in logs
    assert all(torch.equal(d0[k], v) for k, v in late.discriminator.state_dict().items())


def test_training_masks_come_from_the_model_rng():
    model = Inpainter(InpaintConfig.tiny(mask="quarter"))
    model.rng.manual_seed(7)
    a = model.random_masks(5)
    model.rng.manual_seed(7)
    assert torch.equal(a, model.random_masks(5))
    assert torch.all(a.sum(dim=(1, 2, 3)) == 64)


@pytest.mark.parametrize("adversarial", [False, True])
def test_fit_resume_equals_an_uninterrupted_run(tmp_path, adversarial):
    """N steps, save, load with the optimizers, M more == N + M straight: every weight and
    buffer (spectral norm's vectors included); the adversarial run crosses ``adv_start``."""
    assert kinds.model_class(Inpainter.kind) is Inpainter
    n, m = 3, 2
    cfg = InpaintConfig.tiny(adversarial_weight=0.05 if adversarial else 0.0, adv_start=2,
                             lr_decay_at=4)
    data = _images(40, seed=5)

    straight = Inpainter(cfg)
    fit(straight, data, steps=n + m, device="cpu", log_every=1)

    part = Inpainter(cfg)
    path = tmp_path / "run" / "model"
    res = fit(part, data, steps=n + m, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=1, should_stop=lambda: part.step_ >= n)
    assert res.stopped and part.step_ == n
    resumed = checkpoints.load(path, optimizer=True)
    assert type(resumed) is Inpainter and resumed.step_ == n
    fit(resumed, data, steps=m, device="cpu", log_every=1)
    assert resumed.step_ == straight.step_ == n + m
    a, b = straight.state_dict(), resumed.state_dict()
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    start = Inpainter(cfg).state_dict()
    assert any(not torch.equal(start[k], a[k]) for k in a)
    assert dataclasses.asdict(resumed.config) == dataclasses.asdict(cfg)
