"""Quality of the shipped checkpoints, measured here on the held-out MNIST split (500 digits
that no model trained on), never read back from the cards."""

import json

import pytest
import torch

from unsup import checkpoints, paths
from unsup.__main__ import main as cli
from unsup.metrics.elbo import elbo_terms
from unsup.models.vae import corrupt
from unsup.recipes.vae import manifold_digits
from unsup.recipes.vae import test_tensor as heldout_tensor  # not collected as a test

pytestmark = pytest.mark.slow


def shipped(name):
    return checkpoints.load(paths.SHIPPED_DIR / name)


@pytest.fixture(scope="module")
def x_test():
    return heldout_tensor("mnist")  # binarized at 0.5, and labels


def test_16d_vae_test_negative_elbo_at_most_95_nats(x_test):
    model = shipped("vae-mnist-16d")
    # mean over three noise seeds of the one-sample estimate of -ELBO (Bernoulli, nats/image)
    values = [elbo_terms(model, x_test[0], seed=s)["neg_elbo"] for s in range(3)]
    assert sum(values) / 3 <= 95.0, values


def test_classifier_is_a_trustworthy_instrument(x_test):
    from unsup.data.images import load_split

    clf = shipped("digit-classifier")
    split = load_split("mnist")
    acc = (clf.predict_proba(torch.from_numpy(split.x_test.copy())).argmax(1)
           == torch.from_numpy(split.y_test.copy())).float().mean()
    assert float(acc) >= 0.95


def test_2d_vae_manifold_shows_at_least_9_distinct_digits():
    result = manifold_digits(shipped("vae-mnist-2d"), shipped("digit-classifier"), n=15)
    assert result["distinct_digits"] >= 9, result


def test_denoising_autoencoder_beats_the_plain_one_on_noisy_test_digits(x_test):
    x = x_test[0]
    noisy = corrupt(x, 0.5, torch.randn(x.shape, generator=torch.Generator().manual_seed(0)))
    errs = {}
    for name in ("ae-mnist-16d", "dae-mnist-16d"):
        with torch.no_grad():
            out = shipped(name).reconstruct(noisy)
        errs[name] = float((out - x).pow(2).flatten(1).sum(1).mean())
    assert errs["dae-mnist-16d"] < 0.7 * errs["ae-mnist-16d"], errs


def test_cli_eval_recomputes_on_held_out_data(capsys):
    assert cli(["eval", "vae-mnist-16d", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["metrics"]
    assert m["n_test"] == 500 and m["iwae_k"] >= 100
    assert m["test_iwae_nll_nats"] <= m["test_neg_elbo_nats"] + 0.5
    assert 0 < m["active_units"] <= 16


def test_cli_list_json_shows_shipped_models(capsys):
    assert cli(["list", "--json"]) == 0
    names = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    for name in ("vae-mnist-16d", "vae-mnist-2d", "ae-mnist-16d", "dae-mnist-16d",
                 "digit-classifier"):
        assert names[name]["source"] == "shipped"
        assert names[name]["command"] == f"python -m unsup train {name} --out checkpoints"


README_ROWS = {  # the README's quality table, row by row (values as printed there)
    "vae-mnist-16d": {"test_neg_elbo_nats": 84.5, "test_recon_nats": 55.7, "test_kl_nats": 28.8,
                      "test_iwae_nll_nats": 77.4, "active_units": 15},
    "vae-mnist-2d": {"test_neg_elbo_nats": 163.9, "test_iwae_nll_nats": 154.3,
                     "manifold_distinct_digits": 10},
    "ae-mnist-16d": {"test_recon_nats": 46.0},
    "dae-mnist-16d": {"test_recon_nats": 50.2},
    "digit-classifier": {"test_accuracy": 0.988},
}


@pytest.mark.parametrize("name", sorted(README_ROWS))
def test_readme_quality_rows_are_what_the_shipped_files_measure(name):
    """Each number of the README's quality table, recomputed from the shipped file on the
    held-out split (the README rounds to one decimal; accuracy to 0.1%)."""
    from unsup import families

    family = families.of_kind(checkpoints.find(name).kind)
    measured = family.evaluate(shipped(name))
    for key, printed in README_ROWS[name].items():
        got = measured[key]
        if isinstance(printed, int):
            assert got == printed, (name, key, got)
        else:
            assert abs(got - printed) <= (0.0005 if key == "test_accuracy" else 0.05), (
                name, key, got, printed)
