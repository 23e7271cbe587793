"""Quality of the shipped β-VAE checkpoints (issue 4, part 4): the metrics are measured on the
held-out dSprites images with fixed seeds (what `python -m unsup eval` does: the three seeds of
``EVAL_SEEDS``, about 45 s each per model on one thread). Each model's card holds the three; here
one of them per model (rotated over the models, so each seed is exercised) is recomputed and
must equal the card's value for that seed, and the card's numbers must be the means of its
``per_seed`` (conftest's ``one_seed_matches_the_card``); the bars are then read off the card.

Skipped while the checkpoints are not shipped yet.
"""

import numpy as np
import pytest
from conftest import one_seed_matches_the_card

from unsup import checkpoints
from unsup.recipes.betavae import PRESETS

PRESET_NAMES = {p.name for p in PRESETS}

SHIPPED = {e.name: e for e in checkpoints.list_models() if e.source == "shipped"
           and e.kind in ("betavae", "betatcvae", "factorvae")}
TC_KINDS = ("betatcvae", "factorvae")
needs = pytest.mark.skipif(not {"betavae-b1", "betavae-b4"} <= set(SHIPPED)
                           or not any(e.kind in TC_KINDS for e in SHIPPED.values()),
                           reason="β-VAE checkpoints not shipped yet (python -m unsup train ...)")


@pytest.fixture(scope="module")
def measured():
    """name -> the card's metrics (with the MI matrix of the seed recomputed), once one seed of them per model has been recomputed now and
    found equal (a point or two of the 5,000 evaluation votes may flip with the last bits of the
    codes on another CPU's kernels, hence 0.002)."""
    from unsup.recipes.betavae import CARD_METRICS, EVAL_SEEDS, evaluate

    out = {}
    for i, (name, e) in enumerate(sorted(SHIPPED.items())):
        seed = EVAL_SEEDS[i % len(EVAL_SEEDS)]
        again = evaluate(checkpoints.load(e.path), seed=seed)
        out[name] = one_seed_matches_the_card(dict(e.card["metrics"]), again, seed,
                                              CARD_METRICS, rel=0, abs_tol=0.002)
        # the latent x factor MI matrix of the recomputed seed (the card's is the 3-seed mean)
        out[name]["extra_metrics"] = again["extra_metrics"]
    return out


@needs
def test_every_shipped_model_is_a_preset_with_metrics_and_fits_the_budget():
    for name, e in SHIPPED.items():
        assert name in PRESET_NAMES
        assert e.card["command"].startswith(f"python -m unsup train {name}")
        assert e.card["data"]["name"] == "dsprites" and e.card["data"]["fingerprint"]
        assert e.card["seconds"] < 2 * 3600
        for k in ("beta_vae", "factor_vae", "mig", "dci", "sap", "recon"):
            assert k in e.card["metrics"], (name, k)


@needs
def test_cards_report_what_the_checkpoints_measure(measured):
    """The fixture recomputed one seed per model; every shipped model was checked."""
    assert set(measured) == set(SHIPPED)


@needs
def test_best_model_disentangles(measured):
    best = max(measured, key=lambda n: measured[n]["mig"])
    m = measured[best]
    assert m["mig"] >= 0.10
    assert m["mig"] >= 2 * measured["betavae-b1"]["mig"]
    assert m["beta_vae"] >= 0.80
    assert m["mig"] > measured["betavae-b4"]["mig"]


@needs
@pytest.mark.parametrize("name", ["adagvae-b1", "adatcvae-b6"])
def test_both_paired_models_disentangle(measured, name):
    """The README states both paired models' numbers and claims both disentangle."""
    m = measured[name]
    assert m["mig"] >= 0.10 and m["mig"] >= 2 * measured["betavae-b1"]["mig"]
    assert m["beta_vae"] >= 0.80
    mi = np.asarray(m["extra_metrics"]["mi_matrix"])
    assert len({int(np.argmax(mi[:, k])) for k in (1, 3, 4)}) == 3


@needs
def test_total_correlation_model_beats_the_plain_vae(measured):
    best_tc = max(measured[n]["mig"] for n, e in SHIPPED.items() if e.kind in TC_KINDS)
    assert best_tc > measured["betavae-b1"]["mig"]


@needs
def test_position_and_scale_each_have_their_own_latent(measured):
    best = max(measured, key=lambda n: measured[n]["mig"])
    mi = np.asarray(measured[best]["extra_metrics"]["mi_matrix"])  # (latents, factors)
    owners = [int(np.argmax(mi[:, k])) for k in (1, 3, 4)]  # scale, position x, position y
    assert len(set(owners)) == 3, owners


@needs
def test_sampled_scores_are_means_over_three_seeds(measured):
    """Every score is sampled (held-out subset, votes, classifiers): the evaluation and the card
    give the mean over the recipe's >= 3 seeds, each seed's value in ``per_seed`` (issue 21,
    part 17); the bars above hold on the mean."""
    from unsup.recipes.betavae import CARD_METRICS, EVAL_SEEDS

    assert len(EVAL_SEEDS) >= 3
    for name, m in measured.items():
        assert m["seeds"] == list(EVAL_SEEDS), name
        for k in CARD_METRICS:
            values = m["per_seed"][k]
            assert len(values) == len(EVAL_SEEDS), (name, k)
            assert m[k] == pytest.approx(np.mean(values), abs=1e-4), (name, k)
        assert len(set(m["per_seed"]["beta_vae"])) > 1, name  # three draws, not one thrice
