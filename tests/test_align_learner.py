"""Vecmap as a learner (one self-learning iteration a training step): the same answer as the
function, and a stopped, saved and resumed run equals an uninterrupted one."""

from __future__ import annotations

import pytest
import torch

from unsup import checkpoints
from unsup.models import align as A
from unsup.train import fit

from test_align import _p1, _pair  # the helper that builds an isomorphic pair with a known answer


pytestmark = pytest.mark.usefixtures("torch_one_thread")  # tests/conftest.py


def _learner(X, Y, **kw) -> A.VecmapAligner:
    cfg = A.VecmapConfig(dim=X.shape[1], n_src=len(X), n_tgt=len(Y), patience=10, **kw)
    return A.VecmapAligner(cfg).set_embeddings(X, Y, normalized=True)


def test_the_learner_finds_the_map_without_a_seed_and_then_stays_put():
    X, Y, sw, tw, truth = _pair(300, 32, 0)
    m = _learner(X, Y)
    fit(m, torch.zeros(64, 1), steps=400, log_every=400)
    assert m.converged
    assert _p1(X @ m.W, Y, sw, tw, truth) >= 0.9
    assert _p1(X, Y, sw, tw, truth) < 0.2  # before: the spaces are rotated
    W = m.W.clone()
    fit(m, torch.zeros(64, 1), steps=5, log_every=5)  # converged: nothing changes
    assert torch.equal(W, m.W)


def test_a_stopped_and_resumed_vecmap_equals_an_uninterrupted_one(tmp_path):
    X, Y = _pair(200, 16, 1)[:2]
    straight = _learner(X, Y, keep_init=0.3)
    fit(straight, torch.zeros(64, 1), steps=40, log_every=40)
    first = _learner(X, Y, keep_init=0.3)
    fit(first, torch.zeros(64, 1), steps=17, log_every=17)
    path = checkpoints.save(first, tmp_path / "vm", checkpoints.make_card(first, step=17))
    again = checkpoints.load(path, optimizer=True)
    assert again.step_ == 17 and torch.equal(again.dictionary(), first.dictionary())
    fit(again, torch.zeros(64, 1), steps=23, log_every=23)
    assert torch.equal(again.W, straight.W)
    assert torch.equal(again.state, straight.state)
    assert torch.equal(again.dictionary(), straight.dictionary())


def test_a_finished_muse_checkpoint_keeps_the_map_and_drops_the_discriminator(tmp_path):
    X, Y = _pair(100, 16, 2)[:2]
    m = A.AdversarialAligner(A.AlignConfig.tiny(dim=16)).set_embeddings(X, Y, normalized=True)
    fit(m, torch.zeros(64, 1), steps=5, log_every=5)
    path = checkpoints.save(m, tmp_path / "muse", checkpoints.make_card(m, step=5),
                            optimizer=False, compact=True)
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        assert not any(k.startswith("disc.") for k in f.keys())
    back = checkpoints.load(path)
    assert torch.equal(back.W, m.W) and torch.equal(back.src_emb, m.src_emb)
