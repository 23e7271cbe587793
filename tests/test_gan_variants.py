"""The fixed-noise timelapse, progressive growing and the VAE-GAN: schedules, shapes, what each
update changes, and exact resume (frames and growth stage included)."""

from __future__ import annotations

import pytest
import torch

from unsup import checkpoints, families
from unsup.models import gan as G
from unsup.models import gan_variants as V
from unsup.train import fit


@pytest.fixture(scope="module")
def digits28():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(48, 1, 28, 28, generator=g) > 0.7).float()


@pytest.fixture(scope="module")
def images8():
    g = torch.Generator().manual_seed(1)
    return (torch.rand(32, 1, 8, 8, generator=g) > 0.6).float()


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_kinds_are_registered():
    assert families.model_class("pggan") is V.ProgressiveGAN
    assert families.model_class("vaegan") is V.VAEGAN
    assert families.of_kind("pggan").name == families.of_kind("vaegan").name == "gan"


# -- timelapse ----------------------------------------------------------------------------------
def test_timelapse_keeps_evenly_spaced_frames_of_the_fixed_noise(images8):
    m = G.DCGAN(G.DCGANConfig.tiny(timelapse_frames=5, timelapse_every=2, timelapse_samples=3))
    fit(m, images8, steps=3, device="cpu")
    steps, frames = m.timelapse_frames()
    assert steps == [0, 2]
    assert frames.shape == (2, 3, 1, 8, 8) and 0 <= frames.min() and frames.max() <= 1
    fit(m, images8, steps=37, device="cpu")  # 40 steps: the store filled and halved twice
    steps, frames = m.timelapse_frames()
    assert steps == [0, 16, 32] and int(m.timelapse_interval) == 16
    # the last frame is exactly what G draws from the fixed noise at that step
    again = G.DCGAN(m.config)
    fit(again, images8, steps=32, device="cpu")
    want = (again.decode(again.timelapse_noise()).clamp(0, 1) * 255).round() / 255
    assert torch.allclose(frames[-1], want, atol=1e-6)
    assert not torch.equal(frames[0], frames[-1])  # training changed the samples


def test_timelapse_survives_a_checkpoint_and_resumes_exactly(tmp_path, images8):
    cfg = G.DCGANConfig.tiny(timelapse_frames=4, timelapse_every=1)
    a = G.DCGAN(cfg)
    fit(a, images8, steps=5, checkpoint_path=tmp_path / "a", device="cpu")
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    assert a2.timelapse_frames()[0] == a.timelapse_frames()[0]
    fit(a2, images8, steps=4, device="cpu")
    b = G.DCGAN(cfg)
    fit(b, images8, steps=9, device="cpu")
    _same(a2, b)
    assert a2.timelapse_frames()[0] == b.timelapse_frames()[0]


def test_timelapse_is_off_by_default_and_checks_its_settings():
    m = G.DCGAN(G.DCGANConfig.tiny())
    assert m.timelapse_frames()[0] == [] and "timelapse" not in m.state_dict()
    with pytest.raises(ValueError, match="timelapse"):
        G.DCGAN(G.DCGANConfig.tiny(timelapse_frames=3, timelapse_every=0))


# -- progressive growing ------------------------------------------------------------------------
def test_grow_schedule_fades_each_block_in_then_holds_it():
    T = 10
    assert V.grow_schedule(0, T) == (0, 1.0) and V.grow_schedule(9, T) == (0, 1.0)
    assert V.grow_schedule(10, T) == (1, 0.0) and V.grow_schedule(15, T) == (1, 0.5)
    assert V.grow_schedule(20, T) == (1, 1.0) and V.grow_schedule(29, T) == (1, 1.0)
    assert V.grow_schedule(30, T) == (2, 0.0) and V.grow_schedule(35, T) == (2, 0.5)
    assert V.grow_schedule(40, T) == (2, 1.0) and V.grow_schedule(10_000, T) == (2, 1.0)


def _pg(**kw):
    return V.ProgressiveGAN(V.ProgressiveGANConfig(**{**dict(width=4, n_latent=8, batch_size=8,
                                                             grow_steps=2), **kw}))


def test_progressive_samples_are_blocky_until_the_last_block_is_in(digits28):
    m = _pg()
    x = m.sample(4)
    assert x.shape == (4, 1, 28, 28)
    # at 7 px every 4x4 block of the 28 px image is one value
    assert torch.equal(x, x[..., ::4, ::4].repeat_interleave(4, -1).repeat_interleave(4, -2))
    m.train_step(digits28[:8])
    m.step_ = 4  # 14 px fully in
    x = m.sample(4)
    assert torch.equal(x, x[..., ::2, ::2].repeat_interleave(2, -1).repeat_interleave(2, -2))
    assert m.resolution() == 14
    m.step_ = 8  # 28 px fully in: no longer blocky
    x = m.sample(4)
    assert m.resolution() == 28
    assert not torch.equal(x, x[..., ::2, ::2].repeat_interleave(2, -1).repeat_interleave(2, -2))


def test_progressive_real_images_are_seen_at_the_current_resolution(digits28):
    m = _pg()
    m._set_stage(0)
    r = m._to_model(digits28[:2])
    assert r.shape == (2, 1, 28, 28)
    want = torch.nn.functional.avg_pool2d(digits28[:2] * 2 - 1, 4)
    assert torch.allclose(r[..., ::4, ::4], want, atol=1e-6)
    m._set_stage(3)  # 14 px fading in at α = 0.5: half sharp 14 px, half upsampled 7 px
    lvl, alpha = m.generator.level, m.generator.alpha
    assert (lvl, alpha) == (1, 0.5)
    r = m._to_model(digits28[:2])
    x14 = torch.nn.functional.avg_pool2d(digits28[:2] * 2 - 1, 2)
    low = torch.nn.functional.avg_pool2d(x14, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.allclose(r[..., ::2, ::2], 0.5 * x14 + 0.5 * low, atol=1e-6)


def test_progressive_growth_logs_and_resumes_exactly(tmp_path, digits28):
    cfg = V.ProgressiveGANConfig(width=4, n_latent=8, batch_size=8, grow_steps=2, g_ema=0.9,
                                 timelapse_frames=5)
    a = V.ProgressiveGAN(cfg)
    r = fit(a, digits28, steps=5, checkpoint_path=tmp_path / "a", device="cpu", log_every=1)
    assert [h["resolution"] for h in r.history] == [7, 7, 14, 14, 14]
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    assert a2.kind == "pggan" and a2.resolution() == 14
    fit(a2, digits28, steps=5, device="cpu")
    b = V.ProgressiveGAN(cfg)
    fit(b, digits28, steps=10, device="cpu")
    _same(a2, b)
    assert b.resolution() == 28
    with pytest.raises(ValueError, match="BEGAN"):
        V.ProgressiveGAN(V.ProgressiveGANConfig(loss="began"))


# -- VAE-GAN ------------------------------------------------------------------------------------
def _vg(**kw):
    return V.VAEGAN(V.VAEGANConfig(**{**dict(width=4, batch_size=8, n_latent=4), **kw}))


def test_vaegan_step_updates_every_network_and_logs_its_terms(digits28):
    m = _vg()
    before = {k: [p.detach().clone() for p in getattr(m, k).parameters()]
              for k in ("encoder", "generator", "discriminator")}
    out = m.train_step(digits28[:8])
    assert {"d_loss", "g_loss", "recon_l1", "feature", "kl"} <= set(out)
    for k, ps in before.items():
        assert any(not torch.equal(a, b) for a, b in zip(ps, getattr(m, k).parameters())), k
    assert set(m.optimizers()) == {"d", "g", "e"}
    x = digits28[:3]
    assert m.encode(x).shape == (3, 4) and m.reconstruct(x).shape == x.shape
    assert 0 <= float(m.reconstruct(x).min()) and float(m.reconstruct(x).max()) <= 1
    with pytest.raises(ValueError, match="NS"):
        _vg(loss="wgan")


def test_vaegan_resume_is_exact(tmp_path, digits28):
    cfg = V.VAEGANConfig(width=4, batch_size=8, n_latent=4, g_ema=0.9, timelapse_frames=3)
    a = V.VAEGAN(cfg)
    fit(a, digits28, steps=3, checkpoint_path=tmp_path / "a", device="cpu")
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    fit(a2, digits28, steps=3, device="cpu")
    b = V.VAEGAN(cfg)
    fit(b, digits28, steps=6, device="cpu")
    _same(a2, b)


@pytest.mark.slow
def test_vaegan_learns_to_reconstruct_held_out_digits():
    """120 steps of a width-8 VAE-GAN (about 15 s on one thread) take the reconstruction error
    of held-out digits below half that of the untrained model (measured: 0.42 of it; the
    shipped width 16 after 150 steps: 0.21)."""
    from unsup.recipes import gan as R

    torch.set_num_threads(1)
    x_train = R.image_data("mnist")
    x_test = R.test_images("mnist")[:200]
    m = V.VAEGAN(V.VAEGANConfig(width=8))
    before = float((m.reconstruct(x_test) - x_test).abs().mean())
    fit(m, x_train, steps=120, device="cpu")
    after = float((m.reconstruct(x_test) - x_test).abs().mean())
    assert after < 0.5 * before, (before, after)


def test_finished_checkpoints_keep_only_the_averaged_generator(tmp_path, images8):
    """A finished image-GAN checkpoint leaves out the raw generator (the average draws every
    sample); it loads, validates and samples exactly as before, and is smaller."""
    m = G.DCGAN(G.DCGANConfig.tiny(g_ema=0.9))
    fit(m, images8, steps=3, device="cpu")
    card = checkpoints.make_card(m, step=3, title="t")
    full = checkpoints.save(m, tmp_path / "full", card, optimizer=False)
    small = checkpoints.save(m, tmp_path / "small", card, optimizer=False, compact=True)
    assert small.stat().st_size < full.stat().st_size
    a, b = checkpoints.load(full), checkpoints.load(small)
    a.round_to_stored()  # the compact file is also float16 (see the next test)
    assert torch.equal(a.sample(5, seed=1), b.sample(5, seed=1))
    for (k, v), w in zip(b.generator.state_dict().items(), b.generator_ema.state_dict().values()):
        assert torch.equal(v, w), k  # the raw generator starts from the average
    assert checkpoints.validate(small)[1] is None
    with pytest.raises(ValueError, match="resumed"):
        checkpoints.save(m, tmp_path / "bad", card, optimizer=True, compact=True)
    plain = G.DCGAN(G.DCGANConfig.tiny())  # without an average nothing is left out
    assert plain.compact_state(plain.state_dict()).keys() == plain.state_dict().keys()


def test_finished_image_gan_checkpoints_are_stored_in_float16_and_load_as_measured(tmp_path,
                                                                                     images8):
    """A store_half model's finished checkpoint keeps float16 tensors (uint8 frames stay
    uint8); it loads as float32, equal to the rounded model the preset evaluates."""
    from safetensors import safe_open

    m = G.DCGAN(G.DCGANConfig.tiny(g_ema=0.9, timelapse_frames=3))
    fit(m, images8, steps=2, device="cpu")
    path = checkpoints.save(m, tmp_path / "m", checkpoints.make_card(m, step=2, title="t"),
                            optimizer=False, compact=True)
    with safe_open(str(path), "pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}
    assert dtypes["generator_ema.0.weight"] == "F16" and dtypes["timelapse"] == "U8"
    back = checkpoints.load(path)
    assert back.generator_ema[0].weight.dtype == torch.float32
    m.round_to_stored()
    for (k, a), b in zip(m.state_dict().items(), back.state_dict().values()):
        if not k.startswith("generator."):
            assert torch.equal(a, b), k
    assert not G.Toy2DGAN.store_half  # 2-D GANs (and every other family) stay float32
