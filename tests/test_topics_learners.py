"""Topic models on the one learner contract (issue 22, part 2): pLSA's EM iterations and LDA's
blocks of Gibbs sweeps are ``train_step``s of :class:`unsup.models.base.Model` learners, trained
by :func:`unsup.train.fit` and saved / loaded by :mod:`unsup.checkpoints` (safetensors + card).

pLSA resumes exactly: N steps, Stop, load, M steps equals N + M uninterrupted steps. LDA restores
the chain's state exactly, but tomotopy reseeds the random numbers of a loaded sampler itself, so
the sweeps after a resume are not those of an uninterrupted run: the test that would say so is an
expected failure (strict: it turns red the day it holds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup import checkpoints
from unsup.models import topics as tm
from unsup.text import TextConfig, build_corpus
from unsup.train import fit


def _block_corpus(n_docs=60, seed=0):
    rng = np.random.default_rng(seed)
    groups = [[f"{g}{i}" for i in range(6)] for g in "abc"]
    docs = [list(rng.choice(groups[d % 3], 14)) + list(rng.choice(groups[(d % 3 + d // 3) % 3], 4))
            for d in range(n_docs)]
    return build_corpus(docs + [["zz"]], TextConfig(min_df=1, max_df=1.0))  # one empty document


CFG = tm.TopicConfig(n_topics=3, iterations=60, text=TextConfig(min_df=1, max_df=1.0))


def _stop_and_resume(cls, path, n, m):
    """(straight, resumed): n + m steps in one fit; n steps, Stop, the one loader, m more."""
    corpus = _block_corpus()
    straight = cls(CFG).attach(corpus)
    fit(straight, straight.data(), steps=n + m, device="cpu", log_every=1)
    part = cls(CFG).attach(corpus)
    res = fit(part, part.data(), steps=n + m, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=2, should_stop=lambda: part.step_ >= n)
    assert res.stopped and part.step_ == n and res.checkpoint is not None
    resumed = checkpoints.load(path, optimizer=True)
    assert type(resumed) is cls and resumed.step_ == n
    at_stop = part.state_dict()
    loaded = resumed.state_dict()
    assert set(at_stop) == set(loaded)
    for k in at_stop:  # the checkpoint holds the state of the stop, bit for bit
        assert torch.equal(at_stop[k], loaded[k]), k
    fit(resumed, resumed.data(), steps=m, device="cpu", log_every=1)
    assert resumed.step_ == straight.step_ == n + m
    return straight, resumed


def test_plsa_resume_is_exact(tmp_path):
    straight, resumed = _stop_and_resume(tm.PLSA, tmp_path / "plsa" / "model", 7, 5)
    a, b = straight.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    h = resumed.history.numpy()
    assert len(h) == 13 and np.all(np.diff(h) >= -1e-9)  # EM never lowers the likelihood


def test_lda_resume_continues_the_saved_chain(tmp_path):
    """What holds for LDA: the checkpoint restores the chain exactly (checked inside), the
    resumed run does the remaining sweeps of the schedule and still finds the three blocks."""
    straight, resumed = _stop_and_resume(tm.LDA, tmp_path / "lda" / "model", 2, 3)
    assert len(resumed.history) == len(straight.history) == 5
    assert resumed._mdl.global_step == straight._mdl.global_step == 25 + 4 * 10 - 5  # 60 sweeps
    model = resumed.topic_model()
    for k in range(3):
        assert len({w[0] for w, _ in model.top_words(k, 5)}) == 1


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="tomotopy reseeds a loaded sampler's random numbers "
                                       "itself, so LDA's resumed sweeps differ from an "
                                       "uninterrupted run's (the saved state is exact)")
def test_lda_resume_equals_an_uninterrupted_run(tmp_path):
    straight, resumed = _stop_and_resume(tm.LDA, tmp_path / "lda" / "model", 2, 3)
    np.testing.assert_array_equal(straight.topic_word.numpy(), resumed.topic_word.numpy())


@pytest.mark.parametrize("cls", [tm.LDA, tm.PLSA])
def test_fit_runs_the_same_steps_as_the_one_call_fit(cls):
    """``fit`` and the scripts' one-call fit (bench/) run the same steps: same topics."""
    corpus = _block_corpus()
    learner = cls(CFG).attach(corpus)
    fit(learner, learner.data(), steps=learner.n_steps(), device="cpu")
    one = (tm.fit_lda if cls is tm.LDA else tm.fit_plsa)(corpus, CFG)
    np.testing.assert_array_equal(learner.topic_model().topic_word_, one.topic_word_)
    assert learner.topic_model().doc_topic_.shape == (61, 3)


def test_a_finished_checkpoint_keeps_the_fitted_model_only(tmp_path):
    corpus = _block_corpus()
    lda = tm.LDA(CFG).attach(corpus)
    fit(lda, lda.data(), steps=lda.n_steps(), device="cpu")
    lda.card_ = {"labels": ["A", "B", "C"]}
    card = checkpoints.make_card(lda, step=lda.step_, extra={"labels": ["A", "B", "C"]})
    full = checkpoints.save(lda, tmp_path / "full", card)
    small = checkpoints.save(lda, tmp_path / "small", card, optimizer=False, compact=True)
    assert small.stat().st_size < full.stat().st_size / 4
    assert checkpoints.validate(small)[1] is None and checkpoints.validate(full)[1] is None
    back = checkpoints.load(small).topic_model()
    want = lda.topic_model()
    np.testing.assert_allclose(back.topic_word_, want.topic_word_, atol=1e-7)
    np.testing.assert_allclose(back.doc_topic_, want.doc_topic_, atol=1e-3)
    assert back.vocab_ == want.vocab_ and back.labels_ == ["A", "B", "C"]
    assert back.config == want.config
    with pytest.raises(ValueError, match="cannot resume|no corpus"):
        checkpoints.load(small).train_step()
