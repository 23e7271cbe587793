"""Quality of the shipped GAN checkpoints, recomputed here from fresh samples. A mode counts when
at least 20 of 2,500 samples lie within 3σ of it. The image models' cards hold three noise seeds;
a test recomputes one of them per model (rotated over the models) and checks it equals the
card's value for that seed before the bars are read off the card (conftest's
``one_seed_matches_the_card``)."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import one_seed_matches_the_card

from unsup import checkpoints, paths, recipes
from unsup.metrics.gan import MIN_MODE_COUNT
from unsup.models.gan_losses import LOSSES
from unsup.recipes import gan as R

pytestmark = pytest.mark.slow

GRID_MODES_REACHED = 20
"""Grid modes (of 25) the shipped grid model must keep; see its card and the README for the
measured value."""
FD_RATIO_REACHED = 3.0
"""The issue's bar: the best shipped image model's classifier-space Fréchet distance, as a
multiple of the real-data floor (train split vs test split), stays within 3x, as the mean over
the evaluation's three noise seeds and for each seed. Measured (first seed): 2.80x
for `dcgan-mnist-best` (width 32, spectral norm, 12,000 steps) once its averaged generator draws
with its own BatchNorm statistics (4.10x while it copied the trained generator's)."""


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def shipped(name: str):
    path = paths.SHIPPED_DIR / name
    if not checkpoints.weights_path(path).exists():
        pytest.skip(f"{name} is not shipped (python -m unsup train {name})")
    return checkpoints.load(path)


def test_the_rule_is_twenty_samples():
    assert MIN_MODE_COUNT == 20


def test_best_ring_model_captures_all_eight_modes_with_85_percent_high_quality():
    m = shipped("gan-ring-pac2")
    for seed in (R.EVAL_SEED, 11, 12):  # the card's noise and two other draws
        s = R.evaluate_2d(m, seed=seed)
        assert s["n_modes"] == 8 and s["n_samples"] == 2_500
        assert s["modes"] == 8, (seed, s)
        assert s["hq"] >= 0.85, (seed, s)


def test_plain_ns_gan_collapses_and_the_same_gan_packed_does_not():
    plain = shipped("gan-ring-collapse")
    packed = shipped("gan-ring-collapse-pac2")
    cfg = plain.config
    assert (cfg.loss, cfg.pack, cfg.minibatch_features) == ("ns", 1, 0)  # a plain NS GAN
    # the contrast is packing alone: every other setting is the same
    assert {**vars(cfg), "pack": 2} == vars(packed.config)
    for seed in (R.EVAL_SEED, 11, 12):
        s = R.evaluate_2d(plain, seed=seed)
        assert s["modes"] <= 4, (seed, s)
        p = R.evaluate_2d(packed, seed=seed)
        assert p["modes"] == 8, (seed, p)


def test_grid_model_reaches_what_its_card_reports():
    m = shipped("gan-grid-pac2")
    s = R.evaluate_2d(m, seeds=R.EVAL_SEEDS)
    assert s["n_modes"] == 25
    assert min(s["per_seed"]["modes"]) >= GRID_MODES_REACHED, s
    assert min(s["per_seed"]["hq"]) >= 0.5, s
    # the card holds these very numbers (measured with the same seeds when it was made)
    card = m.card_["metrics"]
    assert card["seeds"] == list(R.EVAL_SEEDS) and card["per_seed"] == s["per_seed"]


def test_collapse_preset_is_reproduced_exactly_by_the_cli(tmp_path):
    """`python -m unsup train gan-ring-collapse` makes the very weights that are shipped: the
    collapse is a property of its fixed seed and settings, not an accident of one run."""
    plain = shipped("gan-ring-collapse")
    path = recipes.train_preset("gan-ring-collapse", out_dir=tmp_path, on_progress=lambda p: None,
                                device="cpu")
    again = checkpoints.load(path)
    assert again.step_ == plain.step_
    for (k, a), b in zip(plain.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k


IMAGE_PRESETS = [p.name for p in R.PRESETS if p.kind in R.IMAGE_KINDS]
LOSS_PRESETS = [f"dcgan-mnist-{loss}" for loss in LOSSES]
"""The seven loss families, trained with the same networks and time budget."""


@functools.lru_cache(maxsize=None)
def image_scores(name: str) -> dict:
    """The held-out scores of a shipped image model over the evaluation's noise seeds (the
    card's protocol): the mean under each name, each seed's value in ``per_seed``; one seed of
    the card (a different one for the next model) is recomputed from fresh samples and must
    equal the card's value for it."""
    model = shipped(name)
    seed = R.EVAL_SEEDS[IMAGE_PRESETS.index(name) % len(R.EVAL_SEEDS)]
    again = R.evaluate_images(model, seed=seed)
    card = dict(model.card_["metrics"])
    one_seed_matches_the_card(card, again, seed, R.SAMPLED_IMAGES, rel=1e-3, abs_tol=1e-4)
    assert (again["n_samples"], again["n_reference"]) == (card["n_samples"],
                                                          card["n_reference"])
    assert again["fd_floor"] == pytest.approx(card["fd_floor"], rel=1e-3)
    return card


def test_a_dcgan_is_shipped_for_each_of_the_seven_losses():
    assert {p.name for p in R.PRESETS} >= set(LOSS_PRESETS)
    for name, loss in zip(LOSS_PRESETS, LOSSES):
        assert shipped(name).config.loss == loss


def test_best_image_model_covers_every_digit_near_the_real_data_floor():
    scores = {n: image_scores(n) for n in IMAGE_PRESETS}
    best = min(scores, key=lambda n: scores[n]["fd_ratio"])
    e = scores[best]
    assert e["n_samples"] == 10_000 and e["n_reference"] == 500
    assert e["classes_covered"] == 10
    assert e["min_class_share"] >= 0.04, (best, e["extra_metrics"]["digit_shares"])
    assert e["fd_ratio"] <= FD_RATIO_REACHED, (best, e["fd"], e["fd_floor"])
    # not one lucky draw of noise: the bar holds for each of the evaluation's seeds
    assert len(e["per_seed"]["fd_ratio"]) >= 3
    assert max(e["per_seed"]["fd_ratio"]) <= FD_RATIO_REACHED, (best, e["per_seed"])
    assert min(e["per_seed"]["classes_covered"]) == 10
    assert e["recall"] >= 0.7  # the real digits are covered (the floor's recall is 0.89)
    assert e["confident_share"] >= 0.5


@pytest.mark.parametrize("name", LOSS_PRESETS)
def test_every_loss_family_draws_digits_the_classifier_reads(name):
    """Per loss family: at least half the samples read with ≥ 80% confidence, all ten digits."""
    e = image_scores(name)
    assert min(e["per_seed"]["confident_share"]) >= 0.5, e["per_seed"]
    assert min(e["per_seed"]["classes_covered"]) == 10


def test_progressive_gan_reached_full_size_and_draws_digits():
    m = shipped("pggan-mnist-ns")
    assert m.resolution() == 28 and m.stage() == (2, 1.0)
    e = image_scores("pggan-mnist-ns")
    assert e["classes_covered"] == 10 and e["confident_share"] >= 0.5


def test_vaegan_is_sharper_than_the_vae_and_still_reconstructs():
    """The autoencoder frontier, on held-out digits: the VAE-GAN's samples and reconstructions
    are sharper than the VAE's (the blur the adversarial loss removes) and its samples' sharpness
    is nearer the real digits'; its samples are nearer the real digits in the classifier's
    feature space too; and it still reconstructs held-out digits (pixel L1 well under an
    untrained model's). Measured: sample sharpness 0.069 vs the VAE's 0.060 (real test digits
    0.067), Fréchet (clf) 141 vs 163, reconstruction L1 0.037 (the VAE's 0.031).

    (Before the averaged generator got its own BatchNorm statistics, 2026-11-29, its samples
    were grainy — sharpness 0.081, over the real digits' — and this test asked for 1.2x the
    VAE's sharpness; Fréchet was 256, worse than the VAE's.)"""
    vae = checkpoints.load(paths.SHIPPED_DIR / "vae-mnist-16d")
    vg = shipped("vaegan-mnist")
    f = R.frontier(vae, None, vg)
    real = f["real test digits"]["sharpness"]
    assert f["VAE-GAN"]["sharpness"] > f["VAE"]["sharpness"], f
    assert abs(f["VAE-GAN"]["sharpness"] - real) < abs(f["VAE"]["sharpness"] - real), f
    assert f["VAE-GAN"]["recon_sharpness"] > f["VAE"]["recon_sharpness"], f
    assert f["VAE-GAN"]["fd"] < f["VAE"]["fd"], f
    assert f["VAE-GAN"]["recon_l1"] < 0.1, f
    untrained = type(vg)(vg.config)
    x = R.test_images()[:200]
    assert float((untrained.reconstruct(x) - x).abs().mean()) > 2 * f["VAE-GAN"]["recon_l1"]
