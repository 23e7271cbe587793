"""Quality of the shipped CycleGAN checkpoints (issue 15, part 4), recomputed here on held-out
images (never read from their cards). Each test skips while its checkpoint is not shipped;
``python -m unsup train <name>`` makes it (the classifiers first)."""

from __future__ import annotations

import pytest
import torch

from unsup import checkpoints, paths
from unsup.recipes import cyclegan as R

pytestmark = pytest.mark.slow

CLASSIFIER_ACCURACY = 0.95
"""Each shipped domain classifier reads at least this share of the held-out digits of its own
domain (measured during development: 97.2% for MNIST, 96.8-98.4% for MNIST-M at 1,000 steps)."""
TRUTH_ACCURACY = 0.93
"""... and of the paired truth of the other domain's held-out digits (the images a perfect
translator would make): the instrument's ceiling must sit above the 90% bar it checks."""


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def shipped(name: str):
    path = paths.SHIPPED_DIR / name
    if not checkpoints.weights_path(path).exists():
        pytest.skip(f"{name} is not shipped (python -m unsup train {name})")
    return checkpoints.load(path)


DIGIT_CLASSIFIERS = sorted(R.instrument_name(R.CLASSIFIER_PRESETS[d], s)
                           for d in ("a", "b") for s in R.INSTRUMENT_SEEDS)
JUDGES = [R.instrument_name(R.JUDGE_PRESET, s) for s in R.INSTRUMENT_SEEDS]
JUDGE_ACCURACY = 0.97
"""Each A-vs-B judge assigns at least this share of each domain's held-out real images to
their own domain (measured: 100% of A, 98.8-99.6% of B for seeds 0-2)."""
JOINT_MARGIN = 0.5
"""The shipped digit model's share of translations that are the right digit *and* judged to
be in the target domain beats doing nothing (returning the input, never judged in the other
domain) by at least this much, in both directions and through every instrument seed
(measured: see the card's ``per_instrument``)."""


SECOND_OPINION_ACCURACY = 0.94
"""The second-opinion digit classifiers (seeds 1 and 2, half the width and steps) read at least
this share of their own domain's held-out digits (measured: MNIST-M 94.8% and 98.0%)."""


@pytest.mark.parametrize("name", DIGIT_CLASSIFIERS)
def test_domain_classifiers_read_held_out_digits_and_the_paired_truth(name):
    s = R.evaluate_classifier(shipped(name))
    assert s["n_test"] == 250
    second = name.endswith(("-s1", "-s2"))
    assert s["test_accuracy"] >= (SECOND_OPINION_ACCURACY if second else CLASSIFIER_ACCURACY), s
    assert s["truth_accuracy"] >= TRUTH_ACCURACY, s


@pytest.fixture(scope="module")
def digits_metrics():
    model = shipped("cyclegan-digits")
    if R.missing_classifiers():
        pytest.skip("the domain classifiers are not shipped: " + "; ".join(R.missing_classifiers()))
    return R.evaluate_cyclegan(model, R.load_pair("digits"))


def test_translated_digits_keep_their_label_both_ways(digits_metrics):
    s = digits_metrics
    assert s["n_a"] == s["n_b"] == 250
    assert s["label_kept_ab"] >= R.LABEL_KEPT_TARGET, s
    assert s["label_kept_ba"] >= R.LABEL_KEPT_TARGET, s
    # the translation does the work: B -> A is far above reading the MNIST-M input as it is
    assert s["label_kept_ba"] > s["label_kept_ba_input"] + 0.5, s


@pytest.mark.parametrize("name", ["cyclegan-digits", "cyclegan-photo"])
def test_cycle_is_under_the_bound_an_untrained_model_fails(name):
    model = shipped(name)
    s = R.evaluate_cyclegan(model, R.heldout_pair(model))
    for d in ("a", "b"):
        assert s[f"cycle_l1_untrained_{d}"] > R.CYCLE_L1_BOUND, s  # the bound means something
        # the stated bound: under half an untrained model's error in each direction (measured:
        # digits A 0.017 vs 0.490, B 0.119 vs 0.289; photos A 0.067 vs 0.237, B 0.059 vs
        # 0.172). The cards' fixed 0.10 is met A -> B -> A only; B -> A -> B (a photograph
        # behind the digit, which the clean digit does not carry) ends above it.
        assert s[f"cycle_l1_{d}"] < 0.5 * s[f"cycle_l1_untrained_{d}"], (d, s)


@pytest.mark.parametrize("name", ["cyclegan-digits", "cyclegan-photo"])
def test_translations_beat_the_identity_baseline_against_the_paired_truth(name):
    model = shipped(name)
    s = R.evaluate_cyclegan(model, R.heldout_pair(model))
    assert s["paired_error_ab"] < s["identity_baseline_ab"], s
    assert s["paired_error_ba"] < s["identity_baseline_ba"], s


@pytest.mark.parametrize("name", ["cyclegan-digits", "cyclegan-photo"])
def test_shipped_card_says_how_it_was_made_and_keeps_a_timelapse(name):
    model = shipped(name)
    card = model.card_
    assert card["command"] == f"python -m unsup train {name} --out checkpoints"
    n = {"cyclegan-digits": R.DIGIT_STEPS, "cyclegan-photo": R.STEPS}[name]
    assert card["step"] == n
    steps, frames = model.timelapse_frames()
    assert steps[0] == 0 and steps[-1] == n and len(steps) == 26
    # the first frame (untrained) differs from the last: the timelapse shows learning
    assert float((frames[0] - frames[-1]).abs().mean()) > 0.02


@pytest.mark.parametrize("name", JUDGES)
def test_judges_tell_the_held_out_domains_apart_having_seen_only_training_images(name):
    judge = shipped(name)
    data = judge.card_["data"]
    pair = R.load_pair("digits")
    # trained on the real training images of both domains, none of the held-out ones it judges
    assert data["domain"] == "ab" and data["n_train"] == len(pair.a_train) + len(pair.b_train)
    s = R.evaluate_classifier(judge)
    assert s["a_judged_a"] >= JUDGE_ACCURACY and s["b_judged_b"] >= JUDGE_ACCURACY, s
    # a perfect translator (the paired truth) is judged to be in its target domain
    assert s["truth_ab_judged_b"] >= JUDGE_ACCURACY and s["truth_ba_judged_a"] >= JUDGE_ACCURACY


def test_translations_are_the_right_digit_and_look_like_the_target_domain(digits_metrics):
    """Label kept alone is passed by doing nothing (the untranslated A digit is read by the
    domain-B classifier at 97.6%). The joint measure asks for the right digit *and* the target
    domain's look: doing nothing scores about 0, the paired truth about the instruments'
    accuracy, and the shipped model must beat doing nothing by a clear margin, through each of
    the three independently trained sets of instruments."""
    s = digits_metrics
    per = s["per_instrument"]
    assert s["instrument_seeds"] == list(R.INSTRUMENT_SEEDS), "three instrument seeds shipped"
    for d in ("ab", "ba"):
        assert len(per[f"joint_{d}"]) == len(R.INSTRUMENT_SEEDS)
        for joint, nothing, truth in zip(per[f"joint_{d}"], per[f"joint_{d}_input"],
                                         per[f"joint_{d}_truth"]):
            assert nothing <= 0.05, (d, per)  # the input is never judged to be in the other domain
            assert truth >= 0.9, (d, per)  # the measure can be passed
            assert joint >= nothing + JOINT_MARGIN, (d, per)
        assert s[f"joint_{d}"] == per[f"joint_{d}"][0]  # the headline: the seed-0 instruments
