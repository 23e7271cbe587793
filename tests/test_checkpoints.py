"""Checkpoint files: safetensors + card, never unpickled, refusals with clear messages."""

import io
import json
import pickle
from pathlib import Path

import pytest
import torch

from unsup import checkpoints
from unsup.checkpoints import CheckpointError
from unsup.models.vae import ConvVAE, VAEConfig


def saved(tmp_path):
    m = ConvVAE(VAEConfig.tiny())
    return checkpoints.save(m, tmp_path / "m", checkpoints.make_card(m, step=0, title="tiny"))


def test_card_is_embedded_and_beside(tmp_path):
    path = saved(tmp_path)
    tensors, card = checkpoints.read_checkpoint_bytes(path.read_bytes())
    beside = json.loads(path.with_suffix(".json").read_text())
    assert card["kind"] == beside["kind"] == "conv_vae"
    assert card["config"]["n_latent"] == 2
    assert set(tensors) == set(ConvVAE(VAEConfig.tiny()).state_dict())
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("payload,match", [
    (pickle.dumps({"state_dict": {}}), "pickle"),
    (pickle.dumps(Evil(), protocol=0), "pickle"),
    (b"", "empty"),
    (b"hello world, not a model", "not a safetensors"),
])
def test_pickles_and_junk_are_refused(tmp_path, payload, match, capsys):
    with pytest.raises(CheckpointError, match=match):
        checkpoints.read_checkpoint_bytes(payload)
    assert "pwned" not in capsys.readouterr().out


def test_torch_save_archive_is_refused():
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoints.read_checkpoint_bytes(buf.getvalue())


def test_truncated_and_cardless_files(tmp_path):
    data = saved(tmp_path).read_bytes()
    with pytest.raises(CheckpointError):
        checkpoints.read_checkpoint_bytes(data[: len(data) // 2])
    from safetensors.torch import save as st_save

    with pytest.raises(CheckpointError, match="no unsup card"):
        checkpoints.read_checkpoint_bytes(st_save({"w": torch.zeros(3)}))


def test_weights_that_do_not_fit_the_card(tmp_path):
    data = saved(tmp_path).read_bytes()
    tensors, card = checkpoints.read_checkpoint_bytes(data)
    card["config"]["n_latent"] = 5
    with pytest.raises(CheckpointError, match="do not fit"):
        checkpoints.build_model(card, tensors)
    card["kind"] = "no_such_model"
    with pytest.raises(CheckpointError, match="Unknown model kind"):
        checkpoints.build_model(card, tensors)


def test_registry_lists_user_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    run = tmp_path / "runs" / "r1"
    m = ConvVAE(VAEConfig.tiny())
    checkpoints.save(m, run / "model", checkpoints.make_card(m, step=4, title="mine"))
    users = [e for e in checkpoints.list_models("conv_vae") if e.source == "user"]
    assert [e.name for e in users] == ["r1"] and users[0].title == "mine"
    assert checkpoints.load(users[0].path).step_ == 4


def test_listing_one_kind_neither_builds_nor_rereads_the_others(tmp_path, monkeypatch):
    """list_models(kind) validates (builds) only that kind's checkpoints, and a second listing
    (a page rerun) reads no checkpoint file again."""
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    m = ConvVAE(VAEConfig.tiny())
    checkpoints.save(m, tmp_path / "runs" / "r1" / "model", checkpoints.make_card(m, step=4))
    built, read = [], []
    real_build, real_read = checkpoints.build_model, checkpoints.read_card
    monkeypatch.setattr(checkpoints, "build_model",
                        lambda card, *a, **k: built.append(card["kind"]) or real_build(card, *a, **k))
    monkeypatch.setattr(checkpoints, "read_card",
                        lambda w: read.append(str(w)) or real_read(w))
    for cache in (checkpoints._VALIDATED, getattr(checkpoints, "_KINDS", {})):
        cache.clear()  # cold caches: what a fresh server sees
    assert [e.name for e in checkpoints.list_models("conv_vae") if e.source == "user"] == ["r1"]
    assert built and set(built) <= {"conv_vae"}  # no other family's model was built
    assert checkpoints.list_models("no_such_kind") == []
    read.clear()
    checkpoints.list_models("conv_vae")
    checkpoints.list_models("no_such_kind")
    assert read == []  # the rerun: kinds and validations come from the caches


def test_loading_a_checkpoint_imports_no_pandas_or_scipy_optimize():
    """Loading a model imports every family; none may pull pandas or scipy.optimize in at
    import time (about a second of every page's cold open)."""
    import subprocess
    import sys

    code = ("import sys; from unsup import checkpoints, families; families.families(); "
            "checkpoints.list_models(); "
            "print(sorted(m for m in ('pandas', 'scipy.optimize') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
