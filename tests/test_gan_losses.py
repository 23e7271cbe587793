"""The seven GAN losses against hand computations on fixed discriminator outputs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from unsup.models import gan_losses as L

LN3 = math.log(3.0)
# logits with D = sigmoid: real -> D = (0.5, 0.75), fake -> D = (0.5, 0.25)
REAL_LOGITS = torch.tensor([0.0, LN3])
FAKE_LOGITS = torch.tensor([0.0, -LN3])
# raw critic / least-squares scores
REAL_SCORES = torch.tensor([1.0, 3.0])
FAKE_SCORES = torch.tensor([-1.0, 2.0])


def test_mm_and_ns_discriminator_loss_by_hand():
    # -[ (ln .5 + ln .75)/2 ] - [ (ln(1-.5) + ln(1-.25))/2 ] = -(ln .5 + ln .75) = ln(8/3)
    expected = math.log(8.0 / 3.0)
    for loss in ("mm", "ns", "dragan"):
        assert float(L.d_loss(loss, REAL_LOGITS, FAKE_LOGITS)) == pytest.approx(expected, abs=1e-6)


def test_mm_generator_loss_by_hand():
    # E log(1 - D(x̂)) = (ln .5 + ln .75) / 2
    expected = (math.log(0.5) + math.log(0.75)) / 2
    assert float(L.g_loss("mm", FAKE_LOGITS)) == pytest.approx(expected, abs=1e-6)
    assert float(L.g_loss("dragan", FAKE_LOGITS)) == pytest.approx(expected, abs=1e-6)


def test_ns_generator_loss_by_hand():
    # -E log D(x̂) = -(ln .5 + ln .25) / 2 = ln(8) / 2
    assert float(L.g_loss("ns", FAKE_LOGITS)) == pytest.approx(math.log(8.0) / 2, abs=1e-6)


def test_sigmoid_losses_stay_finite_on_huge_logits():
    big = torch.tensor([200.0, -200.0])
    for loss in ("mm", "ns"):
        assert math.isfinite(float(L.d_loss(loss, big, -big)))
        assert math.isfinite(float(L.g_loss(loss, big)))
    # D certain that fakes are fake: the NS loss is ~200 (not inf), the MM loss ~0 (saturated)
    assert float(L.g_loss_ns(torch.tensor([-200.0]))) == pytest.approx(200.0)
    assert float(L.g_loss_mm(torch.tensor([-200.0]))) == pytest.approx(0.0, abs=1e-6)


def test_wgan_losses_by_hand():
    # L_D = -(1 + 3)/2 + (-1 + 2)/2 = -2 + 0.5; L_G = -(-1 + 2)/2
    for loss in ("wgan", "wgan-gp"):
        assert float(L.d_loss(loss, REAL_SCORES, FAKE_SCORES)) == pytest.approx(-1.5)
        assert float(L.g_loss(loss, FAKE_SCORES)) == pytest.approx(-0.5)


def test_ls_losses_by_hand_with_the_table_typos_corrected():
    # L_D = ((1-1)^2 + (3-1)^2)/2 + ((-1)^2 + 2^2)/2 = 2 + 2.5
    assert float(L.d_loss("ls", REAL_SCORES, FAKE_SCORES)) == pytest.approx(4.5)
    # L_G = ((-1-1)^2 + (2-1)^2)/2 = 2.5
    assert float(L.g_loss("ls", FAKE_SCORES)) == pytest.approx(2.5)
    # the optimum of the corrected losses: D(x) = 1 on real, 0 on fake; G wants D(x̂) = 1
    assert float(L.d_loss_ls(torch.ones(3), torch.zeros(3))) == 0.0
    assert float(L.g_loss_ls(torch.ones(3))) == 0.0


def test_began_losses_by_hand():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    ae_x = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    l_real = L.began_recon(x, ae_x)  # mean |x - AE(x)| per row: (0 + 1)/2, (1 + 0)/2
    assert l_real.tolist() == [0.5, 0.5]
    fake = torch.tensor([[2.0, 2.0]])
    ae_fake = torch.tensor([[0.0, 1.0]])
    l_fake = L.began_recon(fake, ae_fake)  # (2 + 1)/2
    assert l_fake.tolist() == [1.5]
    assert float(L.d_loss_began(l_real, l_fake, 0.25)) == pytest.approx(0.5 - 0.25 * 1.5)
    assert float(L.g_loss_began(l_fake)) == pytest.approx(1.5)


def test_began_k_control_and_convergence_measure():
    # k + λ_k (γ L(x) - L(x̂)) = 0.1 + 0.001 * (0.5 * 0.4 - 0.1)
    assert L.began_k_update(0.1, 0.4, 0.1, 0.5, 0.001) == pytest.approx(0.1001)
    assert L.began_k_update(0.9999, 1.0, 0.0, 0.5, 0.001) == 1.0  # clipped above
    assert L.began_k_update(0.0, 0.0, 1.0, 0.5, 0.001) == 0.0  # clipped below
    # M_global = L(x) + |γ L(x) - L(x̂)| = 0.4 + |0.2 - 0.1|
    assert L.began_convergence(0.4, 0.1, 0.5) == pytest.approx(0.5)


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||∇D|| = ||w|| = 5 everywhere
        critic.bias.fill_(0.7)
    pts = torch.randn(6, 2)
    gp = L.gradient_penalty(lambda v: critic(v).squeeze(1), pts)
    assert float(gp.detach()) == pytest.approx((5.0 - 1.0) ** 2)
    # the penalty is differentiable in the weights: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    gp.backward()
    assert critic.weight.grad[0].tolist() == pytest.approx([2 * 4 * 3 / 5, 2 * 4 * 4 / 5])


def test_gradient_penalty_of_a_quadratic_critic():
    # D(x) = ||x||^2: ∇D = 2x, norms 2 * (0.5, 1) = (1, 2) -> mean((0, 1)^2) = 0.5
    pts = torch.tensor([[0.5, 0.0], [0.0, 1.0]])
    gp = L.gradient_penalty(lambda v: v.pow(2).sum(1), pts)
    assert float(gp.detach()) == pytest.approx(0.5)


def test_gradient_penalty_norm_is_per_sample_over_all_values():
    # images (b, 1, 2, 2), D = sum of pixels: gradient of ones, norm sqrt(4) = 2 per image
    pts = torch.rand(3, 1, 2, 2)
    gp = L.gradient_penalty(lambda v: v.flatten(1).sum(1), pts)
    assert float(gp.detach()) == pytest.approx(1.0)


def test_penalty_points():
    real = torch.tensor([[1.0, 1.0], [2.0, 2.0], [4.0, 0.0]])
    fake = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    pts = L.wgan_gp_points(real, fake, torch.tensor([0.0, 1.0, 0.5]))
    assert pts.tolist() == [[0.0, 0.0], [2.0, 2.0], [2.0, 1.0]]
    noise = torch.tensor([[1.0, 0.0], [0.0, -1.0], [0.5, 0.5]])
    std = float(real.std())
    got = L.dragan_points(real, noise, 0.5)
    assert torch.allclose(got, real + 0.5 * std * noise)


def test_weight_clipping():
    net = nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.5, -0.5, 0.001], [0.02, -0.003, 0.0]]))
        net.bias.copy_(torch.tensor([-1.0, 0.005]))
    L.clip_weights(net, 0.01)
    expected = torch.tensor([[0.01, -0.01, 0.001], [0.01, -0.003, 0.0]])
    assert torch.allclose(net.weight, expected)
    assert net.bias.tolist() == pytest.approx([-0.01, 0.005])


def test_every_family_is_known_and_unknown_ones_are_refused():
    assert L.LOSSES == ("mm", "ns", "wgan", "wgan-gp", "ls", "dragan", "began")
    assert set(L.LOSS_LABELS) == set(L.LOSSES)
    with pytest.raises(ValueError, match="choose one of"):
        L.check_loss("hinge")
    with pytest.raises(ValueError, match="d_loss_began"):
        L.d_loss("began", REAL_SCORES, FAKE_SCORES)
    with pytest.raises(ValueError, match="g_loss_began"):
        L.g_loss("began", FAKE_SCORES)
