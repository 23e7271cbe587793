"""CycleGAN metrics (unsup.metrics.cyclegan) and the domain classifier they use."""

import numpy as np
import pytest
import torch
from torch import nn

from unsup.data.domains import load_digit_domains
from unsup.metrics import cyclegan as M
from unsup.models.cyclegan import CycleGAN, CycleGANConfig
from unsup.models.domain_classifier import DomainClassifier, DomainClassifierConfig
from unsup.train import fit

torch.set_num_threads(1)


class Negate(nn.Module):
    def forward(self, x):
        return -x  # in [-1, 1]: x -> 1 - x in [0, 1]


def _identity_model(**kw):
    m = CycleGAN(CycleGANConfig.tiny(**kw))
    m.g_ab, m.g_ba = nn.Identity(), nn.Identity()
    return m


def test_cycle_l1_of_an_identity_pair_is_zero():
    m = _identity_model()
    x = torch.rand(5, 3, 8, 8)
    assert M.cycle_l1(m, x, "a") == pytest.approx(0.0, abs=1e-6)
    assert M.cycle_l1(m, x, "b") == pytest.approx(0.0, abs=1e-6)


def test_cycle_l1_known_answer_for_an_inverting_generator():
    m = _identity_model()
    m.g_ab = Negate()  # G_AB(x) = 1 - x, G_BA = identity: the cycle is 1 - x
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert M.cycle_l1(m, x, "a") == pytest.approx(float((1 - 2 * x).abs().mean()), rel=1e-5)
    m.g_ba = Negate()  # both invert: the cycle is the identity again
    assert M.cycle_l1(m, x, "b") == pytest.approx(0.0, abs=1e-6)


class FixedClassifier:
    def __init__(self, labels):
        self.labels = torch.tensor(labels)

    def predict(self, x):
        return self.labels[: len(x)]


def test_label_kept_counts_and_lists_flips():
    r = M.label_kept(FixedClassifier([3, 1, 4, 1]), torch.zeros(4, 3, 2, 2), [3, 1, 5, 9])
    assert r["accuracy"] == 0.5 and r["flips"] == [2, 3] and r["predicted"] == [3, 1, 4, 1]
    with pytest.raises(ValueError, match="3 labels"):
        M.label_kept(FixedClassifier([1, 2, 3, 4]), torch.zeros(4, 3, 2, 2), [1, 2, 3])


def test_paired_error_and_identity_baseline_known_answers():
    x, truth = np.zeros((2, 3, 2, 2), np.float32), np.full((2, 3, 2, 2), 0.25, np.float32)
    assert M.identity_baseline(x, truth) == pytest.approx(0.25)
    assert M.paired_error(truth, truth) == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        M.paired_error(x, truth[:1])


def test_evaluate_on_digits_with_a_trained_classifier_and_an_identity_translator():
    pair = load_digit_domains(32)
    clf_b = DomainClassifier(DomainClassifierConfig(width=16))
    fit(clf_b, clf_b.pack(torch.tensor(pair.b_train), torch.tensor(pair.y_b_train)), steps=200,
        device="cpu", log_every=50)
    # the instrument works on held-out images of its own domain (other digits, other photos)
    acc = float((clf_b.predict(torch.tensor(pair.b_test)) == torch.tensor(pair.y_b_test))
                .float().mean())
    assert acc >= 0.85
    # ... and on the paired truth B(x) of held-out A digits: a perfect translator would pass
    truth = M.label_kept(clf_b, pair.b_of_a_test, pair.y_a_test)
    assert truth["accuracy"] >= 0.85
    # a translator that copies its input is exactly the identity baseline, cycles perfectly
    m = _identity_model(image_size=32)
    r = M.evaluate(m, pair, classifier_b=clf_b, n=100)
    assert r["n_a"] == r["n_b"] == 100
    assert r["paired_error_ab"] == pytest.approx(r["identity_baseline_ab"], abs=1e-6)
    assert r["paired_error_ba"] == pytest.approx(r["identity_baseline_ba"], abs=1e-6)
    assert r["cycle_l1_a"] == pytest.approx(0.0, abs=1e-6)
    assert r["identity_baseline_ab"] > 0.1  # domain B is far from A pixel by pixel
    assert "label_kept_ab" in r and "label_kept_ba" not in r
    assert len(r["flips_ab"]) == round((1 - r["label_kept_ab"]) * 100)
    # the references: a copying translator scores exactly what its untranslated input scores,
    # and the paired truth what the instrument reads of perfect translations
    assert r["label_kept_ab"] == r["label_kept_ab_input"]
    assert r["label_kept_ab_truth"] == M.label_kept(clf_b, pair.b_of_a_test[:100],
                                                    pair.y_a_test[:100])["accuracy"]
    assert r["identity_l1_a"] == pytest.approx(0.0, abs=1e-6)
    # a pair without paired truth or labels (two uploaded sets) gets the rest of the metrics
    from unsup.data.domains import DomainPair

    bare = DomainPair("upload", pair.a_train[:4], pair.b_train[:4], pair.a_test[:5],
                      pair.b_test[:5], None, None)
    r = M.evaluate(m, bare, classifier_b=clf_b)
    assert r["n_a"] == 5 and r["cycle_l1_b"] == pytest.approx(0.0, abs=1e-6)
    assert "paired_error_ab" not in r and "label_kept_ab" not in r


class _Fixed:
    """A stand-in classifier that answers a fixed label per image."""

    def __init__(self, labels):
        self.labels = torch.tensor(labels)

    def predict(self, x):
        return self.labels[: len(x)]


def test_right_and_judged_needs_both_the_digit_and_the_target_domain():
    x = torch.zeros(4, 3, 8, 8)
    digits = _Fixed([1, 2, 3, 9])  # the last one misread
    judge = _Fixed([1, 1, 0, 1])  # the third one judged to be still in domain A
    r = M.right_and_judged(digits, judge, x, [1, 2, 3, 4], domain=1)
    assert r == {"joint": 0.5, "judged": 0.75, "kept": 0.75}
    # "do nothing": every digit read right, none judged to be in the other domain
    r = M.right_and_judged(_Fixed([1, 2, 3, 4]), _Fixed([0, 0, 0, 0]), x, [1, 2, 3, 4], 1)
    assert r["kept"] == 1.0 and r["joint"] == 0.0


def test_instrument_scores_read_each_direction_through_each_instrument_set():
    x = torch.zeros(2, 3, 8, 8)
    y = [5, 6]
    right, judge_b, judge_a = _Fixed(y), _Fixed([1, 1]), _Fixed([0, 0])
    out = M.instrument_scores(x, x, x, x, x, None, y, y,
                              [(right, right, judge_b), (right, right, judge_a)])
    assert out["joint_ab"] == [1.0, 0.0] and out["joint_ba"] == [0.0, 1.0]
    assert "joint_ba_truth" not in out and out["joint_ab_truth"] == [1.0, 0.0]
