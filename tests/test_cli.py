"""The command line (`python -m unsup`) as a careless or hostile user meets it (issue 21, parts 7
and 13): a step count that trains nothing is refused, the shipped checkpoints/ folder is written
only when named, and every mistake is one line on stderr with a nonzero exit code, no traceback.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from unsup import checkpoints, paths, recipes
from unsup.__main__ import main as cli

ROOT = paths.ROOT


def _state(*files):
    return [(f.read_bytes(), f.stat().st_mtime_ns) for f in files]


def _shipped(name):
    path = checkpoints.weights_path(paths.SHIPPED_DIR / name)
    if not path.exists():
        pytest.skip(f"{name} is not shipped")
    return [path, path.with_suffix(".json")]


def _one_line_error(text: str) -> None:
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), text


@pytest.mark.parametrize("name,steps,out", [("gan-ring-pac2", "0", ["--out", "checkpoints"]),
                                            ("gan-ring-pac2", "0", []),
                                            ("cyclegan-digits", "-5", [])])
def test_steps_that_train_nothing_are_refused_and_the_shipped_file_is_untouched(name, steps,
                                                                                out):
    files = _shipped(name)
    before = _state(*files)
    # a real process: the exit code and stderr are what a shell sees
    res = subprocess.run([sys.executable, "-m", "unsup", "train", name, "--steps", steps, *out],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 2, (res.stdout, res.stderr)
    _one_line_error(res.stderr)
    assert "at least 1" in res.stderr
    assert _state(*files) == before


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_the_library_and_the_job_runner_refuse_them_too(steps):
    from unsup.jobs import JobSpec

    with pytest.raises(ValueError, match="at least 1"):
        recipes.train_preset("gan-ring-pac2", steps=steps, out_dir=paths.runs_dir() / "never")
    with pytest.raises(ValueError, match="at least 1"):
        JobSpec(title="x", build=lambda: None, steps=steps)
    assert not (paths.runs_dir() / "never").exists()


def test_default_train_writes_a_run_of_the_users_own_and_never_over_a_finished_one(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    files = _shipped("gan-ring-pac2")
    before = _state(*files)
    assert cli(["train", "gan-ring-pac2", "--steps", "3"]) == 0
    first = tmp_path / "cli-gan-ring-pac2" / "gan-ring-pac2.safetensors"
    assert first.exists() and f"wrote {first}" in capsys.readouterr().out
    card = checkpoints.read_card(first)
    assert card["step"] == 3 and card["command"] == "python -m unsup train gan-ring-pac2 --steps 3"
    kept = _state(first)
    assert cli(["train", "gan-ring-pac2", "--steps", "3"]) == 0  # the same command again
    assert (tmp_path / "cli-gan-ring-pac2-2" / "gan-ring-pac2.safetensors").exists()
    assert _state(first) == kept  # the first run is kept as it was
    assert _state(*files) == before  # and the shipped checkpoint was never touched


def test_out_checkpoints_is_the_explicit_way_to_the_shipped_place(monkeypatch):
    seen = {}

    def fake(name, *, steps, device, out_dir):
        seen[name] = out_dir
        return paths.SHIPPED_DIR / f"{name}.safetensors"

    monkeypatch.setattr(recipes, "train_preset", fake)
    assert cli(["train", "gan-ring-pac2", "--out", "checkpoints"]) == 0
    assert cli(["train", "atlas-vae-mnist-2d", "--out", str(paths.SHIPPED_DIR) + "/"]) == 0
    # None = the family's shipped place (an atlas lives in checkpoints/atlas)
    assert seen == {"gan-ring-pac2": None, "atlas-vae-mnist-2d": None}
    # and the command a card records says so, so that it rebuilds the file in place
    assert recipes.train_command("gan-ring-pac2") == (
        "python -m unsup train gan-ring-pac2 --out checkpoints")
    assert recipes.train_command("atlas-vae-mnist-2d", 50, paths.SHIPPED_DIR / "atlas") == (
        "python -m unsup train atlas-vae-mnist-2d --steps 50 --out checkpoints")
    assert recipes.train_command("x", 5, paths.runs_dir() / "r") == "python -m unsup train x --steps 5"


@pytest.mark.parametrize("argv,words", [
    (["train", "gan-ring-pac2", "--out", "/proc/x"], "cannot write into /proc/x"),
    (["train", "gan-ring-pac2", "--device", "cuda:7"], "cuda:7"),
    (["train", "gan-ring-pac2", "--device", "banana"], "not a device"),
    (["train", "gan-ring-pac2", "--steps", "ten"], "not a whole number"),
    (["train", "no-such-preset"], "unknown preset"),
    (["eval", "no-such-model"], "No model named"),
    (["frobnicate"], "invalid choice"),
])
def test_mistakes_are_one_line_with_a_nonzero_exit_code(argv, words, capsys, tmp_path,
                                                        monkeypatch):
    import torch

    if "cuda:7" in argv and torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    try:
        rc = cli(argv)
    except SystemExit as exc:  # argparse's own exit
        rc = exc.code
    err = capsys.readouterr().err
    assert rc not in (0, None), err
    _one_line_error(err)
    assert words in err, err
    assert not any(tmp_path.rglob("*.safetensors"))  # nothing was trained


def test_an_unreadable_checkpoint_to_eval_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    (tmp_path / "badrun").mkdir()
    (tmp_path / "badrun" / "model.safetensors").write_bytes(b"\x00not a checkpoint" * 8)
    assert cli(["eval", "badrun"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "badrun" in err


def test_an_unforeseen_error_is_one_line_too(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    monkeypatch.delenv("UNSUP_DEBUG", raising=False)

    def boom(*a, **k):
        raise RuntimeError("the disk caught fire\nsecond line")

    monkeypatch.setattr(recipes, "train_preset", boom)
    assert cli(["train", "gan-ring-pac2"]) == 1
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "RuntimeError: the disk caught fire second line" in err


def _shipped_cards():
    cards = sorted(paths.SHIPPED_DIR.glob("*.json")) + sorted(
        (paths.SHIPPED_DIR / "atlas").glob("*.json"))
    return [c for c in cards if c.with_suffix(".safetensors").exists()
            or c.with_suffix(".npz").exists()]


def test_every_shipped_card_records_the_command_that_rebuilds_it_in_place():
    """The command in a shipped card, run again, writes that very file (the CLI's default is a
    run folder of the user's, so it must say `--out checkpoints`); the embedded card of a
    .safetensors file says the same as its JSON copy."""
    import argparse
    import json
    import shlex

    from unsup import families
    from unsup.__main__ import shipped_out

    cards = _shipped_cards()
    assert len(cards) >= 30
    for path in cards:
        card = json.loads(path.read_text(encoding="utf-8"))
        words = shlex.split(card["command"])
        assert words[:4] == ["python", "-m", "unsup", "train"], (path.name, card["command"])
        p = argparse.ArgumentParser(exit_on_error=False)
        p.add_argument("preset")
        p.add_argument("--steps", type=int)
        p.add_argument("--out")
        args = p.parse_args(words[4:])
        families.of_preset(args.preset)  # a preset that exists
        assert args.out is not None and shipped_out(args.out), (path.name, card["command"])
        stem = args.preset.removeprefix("atlas-") if path.parent.name == "atlas" else args.preset
        assert stem == path.stem, (path.name, card["command"])
        weights = path.with_suffix(".safetensors")
        if weights.exists():
            assert checkpoints.read_card(weights)["command"] == card["command"], path.name
