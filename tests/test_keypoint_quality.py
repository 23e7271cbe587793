"""Quality of the shipped keypoint checkpoint (issue 14, part 4), recomputed here on held-out
faces (never read from its card). Skipped while it is not shipped: make it with
``python -m unsup train keypoints-faces``."""

from __future__ import annotations

import pytest
import torch

from unsup import checkpoints, paths
from unsup.recipes import keypoints as R

pytestmark = pytest.mark.slow

MAX_ERROR = 6.0
"""Landmark regression error the shipped model must reach, % of the inter-ocular distance."""
MAX_EQUIVARIANCE = 3.0
"""Equivariance error it must stay under, % of the image width."""


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shipped():
    path = paths.SHIPPED_DIR / R.PRESETS[0].name
    if not checkpoints.weights_path(path).exists():
        pytest.skip(f"{R.PRESETS[0].name} is not shipped (python -m unsup train "
                    f"{R.PRESETS[0].name})")
    return checkpoints.load(path)


@pytest.fixture(scope="module")
def metrics(shipped):
    return R.evaluate(shipped)


def test_it_is_the_preset_it_claims_to_be(shipped):
    preset = R.PRESETS[0]
    assert shipped.config.n_keypoints == preset.config["n_keypoints"] == 10
    assert shipped.config.image_size == 64
    assert shipped.step_ >= preset.steps
    assert shipped.card_["command"].startswith(f"python -m unsup train {preset.name}")
    assert shipped.card_["data"]["name"] == "faces"


def test_landmark_error_is_at_most_six_percent_and_half_the_mean_shape(metrics):
    assert metrics["n_heldout"] == 1_000 and metrics["heldout"].startswith("1,000 held-out")
    assert metrics["error"] <= MAX_ERROR, metrics
    assert metrics["error"] <= 0.5 * metrics["mean_shape"], metrics


def test_a_random_detector_is_clearly_worse(metrics):
    assert metrics["random"] >= 2 * metrics["error"], metrics
    assert metrics["random"] >= 0.5 * metrics["mean_shape"], metrics  # regression alone: little


def test_equivariance_error_is_under_three_percent_of_the_width(shipped, metrics):
    assert metrics["equivariance"] <= MAX_EQUIVARIANCE, metrics
    # and under warps it never trained on the seed of: another draw of the same range
    x_held = R.eval_faces()[2]
    assert R.equivariance(shipped, x_held, seed=12_345) <= MAX_EQUIVARIANCE


def test_the_card_reports_what_evaluation_measures(shipped, metrics):
    card = shipped.card_["metrics"]
    for key in ("error", "mean_shape", "random", "equivariance"):
        assert card[key] == pytest.approx(metrics[key], abs=0.05), key


def test_sampled_numbers_are_means_over_three_seeds(shipped, metrics):
    """The random-weights baseline (one detector per weight seed) and the equivariance error
    (random warps) are sampled: evaluation and card give the mean over >= 3 seeds, each seed's
    value in ``per_seed`` (issue 21, part 17)."""
    assert len(metrics["random_seeds"]) >= 3 and len(metrics["seeds"]) >= 3
    card = shipped.card_["metrics"]
    for key, seeds in (("random", "random_seeds"), ("equivariance", "seeds")):
        values = metrics["per_seed"][key]
        assert len(values) == len(metrics[seeds]), key
        assert len(set(values)) > 1, key  # three draws, not one draw three times
        assert metrics[key] == pytest.approx(sum(values) / len(values), abs=1e-3), key
        assert card["per_seed"][key] == pytest.approx(values, abs=0.05), key
        assert max(values) <= (MAX_EQUIVARIANCE if key == "equivariance" else 100.0)
