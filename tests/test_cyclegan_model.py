"""CycleGAN (unsup.models.cyclegan): losses by hand, the pool's 50% rule, exact resume, learning."""

import dataclasses
import inspect
import sys

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from unsup import checkpoints
from unsup.data.domains import UnpairedDomains, load_digit_domains
from unsup.models.cyclegan import (CycleGAN, CycleGANConfig, FakePool, l1, ls_d_loss, ls_g_loss)
from unsup.train import fit

torch.set_num_threads(1)


class Scale(nn.Module):
    def __init__(self, k: float):
        super().__init__()
        self.k = k

    def forward(self, x):
        return self.k * x


class Const(nn.Module):
    """A 'discriminator' whose every patch score is ``c`` (2x2 map)."""

    def __init__(self, c: float):
        super().__init__()
        self.c = c
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.full((x.shape[0], 1, 2, 2), self.c) + 0 * self.w


def test_config_fields_are_documented_and_tiny_builds():
    src = inspect.getsource(sys.modules[CycleGANConfig.__module__])
    for f in dataclasses.fields(CycleGANConfig):
        assert f'{f.name}: ' in src
        after = src.split(f"    {f.name}: ", 1)[1].split("\n", 2)[1]
        assert after.strip().startswith('"""'), f"field {f.name} has no comment"
    m = CycleGAN(CycleGANConfig.tiny())
    x = torch.rand(3, 3, 8, 8)
    for out in (m.translate_ab(x), m.translate_ba(x), m.cycle(x, "a"), m.identity(x, "b")):
        assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert m.d_scores(x, "a").shape == (3,)


def test_defaults_follow_the_paper_and_bad_configs_are_refused():
    c = CycleGANConfig()
    assert (c.lambda_cycle, c.lambda_identity, c.pool_size, c.lr, c.beta1) == (10.0, 0.5, 50,
                                                                             2e-4, 0.5)
    assert c.norm == "instance"  # the reference's default
    m = CycleGAN(c)
    assert not any(isinstance(mod, nn.ConvTranspose2d) for mod in m.modules())
    assert any(isinstance(mod, nn.Upsample) for mod in m.g_ab.modules())
    assert m.d_b(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 6, 6)  # a map of patch scores
    with pytest.raises(ValueError, match="multiple of 4"):
        CycleGAN(CycleGANConfig.tiny(image_size=10))
    with pytest.raises(ValueError, match="fewer layers"):
        CycleGAN(CycleGANConfig.tiny(d_layers=3))
    with pytest.raises(ValueError, match="fewer layers"):  # a 1x1 map cannot be normalised
        CycleGAN(CycleGANConfig.tiny(d_layers=2))
    with pytest.raises(ValueError, match="must be 0 or more"):
        CycleGAN(CycleGANConfig.tiny(lambda_cycle_b=-1.0))
    m = CycleGAN(CycleGANConfig.tiny(image_size=12, d_layers=2))
    m.train_step(torch.rand(2, 2, 3, 12, 12))  # the smallest size that trains with 2 layers
    with pytest.raises(ValueError, match="pool_size"):
        CycleGAN(CycleGANConfig.tiny(pool_size=-1))


def test_the_reference_norm_options():
    m = CycleGAN(CycleGANConfig.tiny(norm="batch"))
    bns = [mod for mod in m.g_ab.modules() if isinstance(mod, nn.BatchNorm2d)]
    assert bns and not any(isinstance(mod, nn.InstanceNorm2d) for mod in m.modules())
    # a convolution followed by a batch norm has no bias (the reference's use_bias rule)
    convs = [mod for mod in m.g_ab.modules() if isinstance(mod, nn.Conv2d)]
    assert all(c.bias is None for c in convs[:-1]) and convs[-1].bias is not None
    w = torch.cat([b.weight.detach() for b in bns])
    assert abs(float(w.mean()) - 1.0) < 0.02 and 0.005 < float(w.std()) < 0.05  # N(1, 0.02)
    assert "g_ab.2.running_mean" in m.state_dict()  # running statistics travel in checkpoints
    plain = CycleGAN(CycleGANConfig.tiny(norm="none"))
    assert not any(isinstance(mod, (nn.BatchNorm2d, nn.InstanceNorm2d)) for mod in plain.modules())
    with pytest.raises(ValueError, match="norm must be one of"):
        CycleGAN(CycleGANConfig.tiny(norm="layer"))
    # after the first layer, instance normalisation has erased a flat patch's colour (all
    # zeros, whatever the colour); batch normalisation over a batch keeps it
    flat = torch.stack([torch.full((3, 8, 8), v) for v in (-0.6, 0.6)])
    first_in = CycleGAN(CycleGANConfig.tiny()).g_ab[:3](flat)
    assert float(first_in.abs().max()) < 1e-2
    bn = CycleGAN(CycleGANConfig.tiny(norm="batch")).g_ab[:3].train()
    with torch.no_grad():
        first_bn = bn(flat)
    assert float((first_bn[0] - first_bn[1]).abs().max()) > 0.1


def test_ls_losses_by_hand():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.5])
    # ½ [mean((0, -0.5)²) + mean((0, 0.5)²)] = ½ [0.125 + 0.125]
    assert float(ls_d_loss(real, fake)) == pytest.approx(0.125)
    assert float(ls_g_loss(torch.tensor([1.0, 0.0, 3.0]))) == pytest.approx((0 + 1 + 4) / 3)
    assert float(l1(torch.tensor([1.0, -1.0]), torch.tensor([0.0, 0.0]))) == pytest.approx(1.0)


def test_each_generator_loss_term_by_hand():
    m = CycleGAN(CycleGANConfig.tiny())
    m.g_ab, m.g_ba = Scale(0.5), nn.Identity()  # G_AB halves, G_BA copies
    m.d_a, m.d_b = Const(0.25), Const(0.75)
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 3, 4, 4, generator=g) * 2 - 1, torch.rand(2, 3, 4, 4, generator=g) * 2 - 1
    t = m.losses(a, b)
    ma, mb = a.abs().mean().item(), b.abs().mean().item()
    assert t["gan_ab"].item() == pytest.approx((0.75 - 1) ** 2)  # D_B judges G_AB(a)
    assert t["gan_ba"].item() == pytest.approx((0.25 - 1) ** 2)
    assert t["cycle_a"].item() == pytest.approx(10 * 0.5 * ma, rel=1e-5)  # |a/2 - a|
    assert t["cycle_b"].item() == pytest.approx(10 * 0.5 * mb, rel=1e-5)  # |b/2 - b|
    assert t["idt_a"].item() == pytest.approx(0.0)  # G_BA(a) = a
    assert t["idt_b"].item() == pytest.approx(10 * 0.5 * 0.5 * mb, rel=1e-5)  # λ λ_id |b/2 - b|
    total = sum(t[k].item() for k in ("gan_ab", "gan_ba", "cycle_a", "cycle_b", "idt_a", "idt_b"))
    assert t["g"].item() == pytest.approx(total, rel=1e-6)
    m.config.lambda_identity = 0.0
    assert m.losses(a, b)["idt_b"].item() == 0.0
    # the reference's separate lambda_B weighs the b cycle and G_AB's identity term only
    m.config.lambda_identity, m.config.lambda_cycle_b = 0.5, 1.0
    t = m.losses(a, b)
    assert t["cycle_a"].item() == pytest.approx(10 * 0.5 * ma, rel=1e-5)
    assert t["cycle_b"].item() == pytest.approx(1 * 0.5 * mb, rel=1e-5)
    assert t["idt_b"].item() == pytest.approx(1 * 0.5 * 0.5 * mb, rel=1e-5)


def test_learning_rate_is_constant_then_linear_to_zero():
    m = CycleGAN(CycleGANConfig.tiny(n_steps_constant=10, n_steps_decay=9, lr=1e-3))
    assert m.lr_at(0) == m.lr_at(10) == pytest.approx(1e-3)
    assert m.lr_at(15) == pytest.approx(1e-3 * (1 - 5 / 10))
    assert m.lr_at(19) == pytest.approx(1e-4) and m.lr_at(100) == 0.0


def test_pool_fills_then_follows_the_50_percent_rule():
    pool = FakePool(4, (1,))
    rng = torch.Generator().manual_seed(0)
    first = torch.arange(4.0)[:, None]
    torch.testing.assert_close(pool.query(first, rng), first)  # filling: the new fakes, stored
    assert int(pool.count) == 4
    torch.testing.assert_close(pool.images, first)
    seen = set(range(4))
    n_old, total = 0, 0
    for step in range(1000):  # one fake a query: the rule is applied image by image
        new = torch.tensor([[100.0 + step]])
        out = pool.query(new, rng)
        stored = set(pool.images[:, 0].tolist())
        for v_new, v_out in zip(new[:, 0].tolist(), out[:, 0].tolist()):
            total += 1
            if v_out != v_new:  # a past fake came back ...
                assert v_out in seen  # ... one that really was stored before,
                assert v_new in stored  # and the new one took its place
                n_old += 1
        seen.update(new[:, 0].tolist())
        assert stored <= seen and len(stored) == 4
    # binomial(1000, ½): 5 standard deviations is ±79
    assert abs(n_old - total / 2) < 80


def test_pool_of_size_zero_passes_fakes_through():
    pool = FakePool(0, (3, 2, 2))
    x = torch.rand(5, 3, 2, 2)
    torch.testing.assert_close(pool.query(x, torch.Generator()), x)


def _tiny_data():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(12, 3, 8, 8, generator=g)
    b = torch.rand(12, 3, 8, 8, generator=g) ** 2
    return UnpairedDomains(a, b, seed=0)


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_exact_resume_including_the_pool(tmp_path, norm):
    cfg = CycleGANConfig.tiny(pool_size=3, batch_size=2, n_steps_constant=2, n_steps_decay=10,
                              norm=norm)
    data = _tiny_data()
    whole = CycleGAN(cfg)
    fit(whole, data, steps=8, device="cpu")
    part = CycleGAN(cfg)
    fit(part, data, steps=4, device="cpu")
    assert int(part.pool_a.count) == 3  # the pool is full and has swapped by now
    path = checkpoints.save(part, tmp_path / "cg", checkpoints.make_card(part, step=4))
    card = checkpoints.read_card(path)
    resumed = CycleGAN(CycleGANConfig(**card["config"]))
    resumed.load_state_dict(load_file(str(path)))
    resumed.step_ = card["step"]
    checkpoints.load_optimizer(resumed, path, card)
    torch.testing.assert_close(resumed.pool_b.images, part.pool_b.images)
    fit(resumed, data, steps=4, device="cpu")
    s1, s2 = whole.state_dict(), resumed.state_dict()
    assert set(s1) == set(s2) and "pool_a.images" in s1 and "pool_b.count" in s1
    for k in s1:
        torch.testing.assert_close(s1[k], s2[k], rtol=0, atol=0, msg=k)


def test_short_training_lowers_the_held_out_cycle_loss():
    pair = load_digit_domains(32)
    cfg = CycleGANConfig(g_filters=8, n_blocks=1, d_filters=8, batch_size=8,
                         n_steps_constant=150, n_steps_decay=50)
    m = CycleGAN(cfg)
    a_test = torch.tensor(pair.a_test[:64])
    b_test = torch.tensor(pair.b_test[:64])

    def held_out_cycle():
        return (float((m.cycle(a_test, "a") - a_test).abs().mean())
                + float((m.cycle(b_test, "b") - b_test).abs().mean()))

    before = held_out_cycle()
    res = fit(m, pair.training_data(), steps=200, device="cpu", log_every=50)
    after = held_out_cycle()
    assert res.steps_done == 200
    print(f"held-out cycle L1 (a + b): {before:.3f} -> {after:.3f}")
    assert after < 0.5 * before, (before, after)
    assert res.history[-1]["cycle"] < 0.5 * res.history[0]["cycle"]


# -- the timelapse of fixed images --------------------------------------------------------------
def _with_timelapse(**kw):
    m = CycleGAN(CycleGANConfig.tiny(timelapse_frames=3, timelapse_every=1, timelapse_samples=2,
                                     **kw))
    g = torch.Generator().manual_seed(5)
    m.set_timelapse_sources(torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8,
                                                                              generator=g))
    return m


def test_timelapse_keeps_evenly_spaced_frames_of_the_fixed_sources():
    m = _with_timelapse()
    fit(m, _tiny_data(), steps=8, device="cpu")
    steps, frames = m.timelapse_frames()
    # 3 slots: 0, 1, 2 -> full at 3: keep 0, 2 (every 2) -> 4 -> full at 6: keep 0, 4 -> 8
    assert steps == [0, 4, 8] and tuple(frames.shape) == (3, 2, 2, 3, 8, 8)
    a, b = m.timelapse_sources()
    now_ab = (m.translate_ab(a).clamp(0, 1) * 255).round() / 255
    now_ba = (m.translate_ba(b).clamp(0, 1) * 255).round() / 255
    torch.testing.assert_close(frames[-1, 0], now_ab, atol=1e-6, rtol=0)  # the last frame is now
    torch.testing.assert_close(frames[-1, 1], now_ba, atol=1e-6, rtol=0)
    assert float((frames[0, 0] - frames[-1, 0]).abs().mean()) > 0  # and differs from step 0


def test_timelapse_does_not_change_training_and_resumes_exactly(tmp_path):
    data = _tiny_data()
    plain = CycleGAN(CycleGANConfig.tiny())
    fit(plain, data, steps=6, device="cpu")
    whole = _with_timelapse()
    fit(whole, data, steps=6, device="cpu")
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(whole.state_dict()[k], v, rtol=0, atol=0, msg=k)
    part = _with_timelapse()
    fit(part, data, steps=3, device="cpu")
    path = checkpoints.save(part, tmp_path / "cg", checkpoints.make_card(part, step=3))
    card = checkpoints.read_card(path)
    resumed = CycleGAN(CycleGANConfig(**card["config"]))
    resumed.load_state_dict(load_file(str(path)))
    resumed.step_ = card["step"]
    checkpoints.load_optimizer(resumed, path, card)
    fit(resumed, data, steps=3, device="cpu")
    s1, s2 = whole.state_dict(), resumed.state_dict()
    assert "timelapse" in s1 and "timelapse_source" in s1
    for k in s1:
        torch.testing.assert_close(s1[k], s2[k], rtol=0, atol=0, msg=k)
    assert resumed.timelapse_frames()[0] == whole.timelapse_frames()[0]


def test_timelapse_sources_are_checked():
    with pytest.raises(ValueError, match="keeps no timelapse"):
        CycleGAN(CycleGANConfig.tiny()).set_timelapse_sources(torch.zeros(4, 3, 8, 8),
                                                              torch.zeros(4, 3, 8, 8))
    m = CycleGAN(CycleGANConfig.tiny(timelapse_frames=2))
    with pytest.raises(ValueError, match=r"\(4, 3, 8, 8\)"):
        m.set_timelapse_sources(torch.zeros(3, 3, 8, 8), torch.zeros(4, 3, 8, 8))
    assert m.timelapse_frames()[0] == [] and len(m.timelapse_sources()[0]) == 0
    fit(m, _tiny_data(), steps=2, device="cpu")  # no sources set: nothing is recorded
    assert m.timelapse_frames()[0] == []
    with pytest.raises(ValueError, match="timelapse_frames"):
        CycleGAN(CycleGANConfig.tiny(timelapse_frames=-1))


def test_finished_checkpoint_leaves_out_the_pools_and_loads_with_empty_ones(tmp_path):
    from unsup import checkpoints
    from unsup.models.cyclegan import CycleGAN, CycleGANConfig

    m = CycleGAN(CycleGANConfig(image_size=16, g_filters=4, d_filters=4, n_blocks=1,
                                batch_size=2, pool_size=3))
    m.pool_a.images.fill_(0.5)
    m.pool_a.count.fill_(3)
    card = checkpoints.make_card(m, step=0, title="t")
    full = checkpoints.save(m, tmp_path / "full", card, optimizer=False)
    small = checkpoints.save(m, tmp_path / "small", card, optimizer=False, compact=True)
    assert small.stat().st_size < full.stat().st_size
    back = checkpoints.load(small)
    assert int(back.pool_a.count) == 0 and float(back.pool_a.images.abs().sum()) == 0
    assert checkpoints.validate(small)[1] is None
    x = torch.rand(2, 3, 16, 16)
    full_model = checkpoints.load(full)
    full_model.round_to_stored()  # the compact file is float16 too
    with torch.no_grad():
        assert torch.equal(back.g_ab(x), full_model.g_ab(x))
