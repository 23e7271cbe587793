"""Topic models on the one learner contract (issue 22, part 2): pLSA's EM iterations and LDA's
blocks of Gibbs sweeps are ``train_step``s of :class:`unsup.models.base.Model` learners, trained
by :func:`unsup.train.fit` and saved / loaded by :mod:`unsup.checkpoints` (safetensors + card).

Both resume exactly: N steps, Stop, load, M steps equals N + M uninterrupted steps, bit for bit
(LDA's sampler draws its random numbers from (seed, chain, sweep), :mod:`unsup.models.gibbs`)."""

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


CFG = tm.TopicConfig(n_topics=3, iterations=60, init_sweeps=20,
                     text=TextConfig(min_df=1, max_df=1.0))  # 4 chains for 2 steps, then 4 more


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
    assert resumed.sweeps == straight.sweeps == 20 + 3 * 10  # 4 chains × 20, the kept one + 30
    assert resumed.kept_chain == straight.kept_chain is not None
    model = resumed.topic_model()
    for k in range(3):
        assert len({w[0] for w, _ in model.top_words(k, 5)}) == 1


def test_lda_resume_equals_an_uninterrupted_run(tmp_path):
    """The sweeps after a resume are the very sweeps an uninterrupted run draws: every
    assignment, count-derived topic, alpha and log-likelihood equal, bit for bit."""
    straight, resumed = _stop_and_resume(tm.LDA, tmp_path / "lda" / "model", 2, 3)
    a, b = straight.state_dict(), resumed.state_dict()
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert a["assign"].shape == (1, int(a["doc_ptr"][-1])) and a["chain"].tolist() == [
        straight.kept_chain, 50]


def test_lda_resume_is_exact_at_any_step_of_the_schedule(tmp_path):
    """Stopped while the starting chains compete, right after the choice, later, and past
    ``iterations`` (6 steps)."""
    for n, m in ((1, 1), (1, 4), (2, 1), (5, 2)):
        straight, resumed = _stop_and_resume(tm.LDA, tmp_path / f"lda{n}" / "model", n, m)
        a, b = straight.state_dict(), resumed.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), (n, m)


def test_two_loads_of_one_checkpoint_sample_alike(tmp_path):
    """What tomotopy could not do: the same saved state gives the same next sweeps."""
    corpus = _block_corpus()
    lda = tm.LDA(CFG).attach(corpus)
    fit(lda, lda.data(), steps=2, device="cpu", checkpoint_path=tmp_path / "m",
        checkpoint_every=1)
    x, y = checkpoints.load(tmp_path / "m", optimizer=True), checkpoints.load(tmp_path / "m",
                                                                              optimizer=True)
    for m in (x, y):
        m.train_step()
        m.step_ += 1
    assert torch.equal(x.state_dict()["assign"], y.state_dict()["assign"])


def test_a_checkpoint_of_the_tomotopy_version_loads_but_does_not_resume(tmp_path):
    """Runs saved before the sampler was unsup's own hold tomotopy's bytes ("sampler"): the
    fitted topics load, a resume says why it cannot."""
    corpus = _block_corpus()
    lda = tm.LDA(CFG).attach(corpus)
    fit(lda, lda.data(), steps=2, device="cpu")
    state = {k: v for k, v in lda.state_dict().items() if k not in ("assign", "chain")}
    state["sampler"] = torch.zeros(16, dtype=torch.uint8)
    old = tm.LDA(CFG)
    old.load_state_dict(state)
    old.step_ = 2
    np.testing.assert_array_equal(old.topic_model().topic_word_, lda.topic_model().topic_word_)
    with pytest.raises(ValueError, match="cannot resume"):
        old.train_step()


def test_the_alpha_update_sums_agree_with_digamma():
    from scipy.special import digamma

    from unsup.models.gibbs import _digamma_diff_sums

    counts = np.random.default_rng(0).integers(0, 40, 300)
    direct = float((digamma(counts + 0.37) - digamma(0.37)).sum())
    assert _digamma_diff_sums(counts, 0.37) == pytest.approx(direct, rel=1e-12)


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
