"""The family registry: a family is one record, registered once; everything else reads it."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from unsup import checkpoints, families, paths, recipes
from unsup.__main__ import main as cli
from unsup.families import Family, Preset
from unsup.models.base import Model, register

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LineConfig:
    """A one-weight linear model y = w x (a tiny stand-in family for the registry tests)."""

    lr: float = 0.1  # SGD learning rate
    batch_size: int = 8  # points per step
    seed: int = 0  # seed of the weight and the batch order


@register("dummy_line")
class Line(Model):
    config_class = LineConfig

    def __init__(self, config: LineConfig):
        super().__init__(config)
        self.w = nn.Parameter(torch.zeros(1))
        self._opt = None

    def optimizers(self):
        if self._opt is None:
            self._opt = torch.optim.SGD(self.parameters(), lr=self.config.lr)
        return {"sgd": self._opt}

    def train_step(self, batch):
        x, y = batch[:, 0], batch[:, 1]
        loss = ((self.w * x - y) ** 2).mean()
        opt = self.optimizers()["sgd"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}


def _points(seed: int) -> torch.Tensor:
    x = torch.randn(64, generator=torch.Generator().manual_seed(seed))
    return torch.stack([x, 3.0 * x], 1)  # y = 3 x


DUMMY = Family(
    name="dummy",
    label="A line through the origin",
    models=(Line,),
    presets=(Preset("dummy-line", "Line", "y = 3x, learnt", "dummy_line", 60, {}, "points"),),
    build=lambda p: (Line(LineConfig(**p.config)), _points(0), {"name": "points"}),
    evaluate=lambda m: {"test_mse": float(((m.w.detach() * _points(1)[:, 0]
                                            - _points(1)[:, 1]) ** 2).mean())},
    data={"points": "64 points on y = 3x"},
    headline=("test_mse",),
)


@pytest.fixture
def dummy():
    families.register(DUMMY)
    yield DUMMY
    families.unregister("dummy")


def test_a_registered_family_lists_trains_saves_loads_and_evals(dummy, capsys):
    out_dir = paths.runs_dir() / "dummy-run"
    path = recipes.train_preset("dummy-line", out_dir=out_dir, on_progress=lambda p: None)
    model = checkpoints.load(path)  # the loader finds the class through the registry
    assert isinstance(model, Line) and model.step_ == 60
    assert abs(float(model.w) - 3.0) < 0.05  # it learnt the line
    card = model.card_
    assert card["metrics"]["test_mse"] < 0.01 and card["command"] == "python -m unsup train dummy-line"
    assert cli(["list", "--json"]) == 0
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed["dummy-line"]["kind"] == "dummy_line" and listed["dummy-line"]["source"] == "user"
    before = (path.read_bytes(), path.stat().st_mtime_ns,
              path.with_suffix(".json").read_bytes())
    assert cli(["eval", "dummy-line", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metrics"]["test_mse"] == pytest.approx(card["metrics"]["test_mse"])
    after = (path.read_bytes(), path.stat().st_mtime_ns, path.with_suffix(".json").read_bytes())
    assert after == before  # eval recomputes and prints; it never writes
    assert cli(["presets"]) == 0 and "dummy-line" in capsys.readouterr().out


def test_the_registry_refuses_a_kind_or_preset_claimed_twice(dummy):
    clash = Family(name="dummy2", label="x", models=(Line,))
    with pytest.raises(ValueError, match="dummy_line"):
        families.register(clash)
    with pytest.raises(KeyError):
        families.model_class("no_such_kind")


def test_every_kind_of_every_shipped_card_has_one_family():
    kinds = set(families.all_kinds())
    assert len(kinds) == len(families.all_kinds())
    for e in checkpoints.list_models(broken=True):
        if e.source == "shipped":
            assert e.problem is None, (e.name, e.problem)
            assert e.kind in kinds, e.name
            assert e.name in {p.name for _, p in families.presets()}, e.name


def test_eval_of_a_shipped_checkpoint_leaves_it_untouched(capsys):
    entry = checkpoints.find("digit-classifier")
    files = [entry.path, entry.path.with_suffix(".json")]
    before = [(f.read_bytes(), f.stat().st_mtime_ns) for f in files]
    assert cli(["eval", "digit-classifier"]) == 0
    assert "test_accuracy" in capsys.readouterr().out
    assert [(f.read_bytes(), f.stat().st_mtime_ns) for f in files] == before


def test_warm_up_and_pages_come_from_the_registry():
    from unsup import serve
    from unsup.ui.registry import all_pages

    mods = serve.warm_modules()
    assert mods[0] == "torch"
    for f in families.families():
        assert set(f.warm) - {"torch"} <= set(mods)
    keys = [p.key for p in all_pages()]
    assert {"topics", "vae", "beta-vae"} <= set(keys) and len(keys) == len(set(keys))


FORBIDDEN = {
    "models": ("unsup.train", "unsup.jobs", "unsup.checkpoints", "unsup.metrics", "unsup.viz",
               "unsup.ui", "unsup.recipes", "unsup.families"),
    "viz": ("unsup.checkpoints", "unsup.models", "unsup.jobs", "unsup.recipes", "torch"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer):
    bad = []
    for f in sorted((ROOT / "unsup" / layer).glob("*.py")):
        for name in _imports(f):
            if any(name == b or name.startswith(b + ".") for b in FORBIDDEN[layer]):
                bad.append(f"{f.name} imports {name}")
    assert not bad, bad


def test_a_run_in_phases_is_scored_at_each_milestone_and_keeps_them_across_a_kill(tmp_path):
    """A preset with options["milestones"] is scored by family.milestone at each one; the scores
    ride in the resumable checkpoints' cards, so a run killed after a milestone keeps it and the
    final card lists every one (the translator's phases use this)."""
    import dataclasses

    seen = []

    def milestone(model):
        seen.append(model.step_)
        return {"step": model.step_, "w": round(float(model.w.detach()), 6)}

    preset = Preset("dummy-phases", "Line in phases", "y = 3x", "dummy_line", 30, {}, "points",
                    checkpoint_every=5, options={"milestones": (10, 20)})
    fam = dataclasses.replace(DUMMY, name="dummy_phases", presets=(preset,), milestone=milestone)
    families.register(fam)
    try:
        class Kill(Exception):
            pass

        def kill_at_15(p):
            if p.step >= 15:
                raise Kill

        with pytest.raises(Kill):
            recipes.train_preset("dummy-phases", out_dir=tmp_path, on_progress=kill_at_15)
        assert seen == [10]
        path = recipes.train_preset("dummy-phases", out_dir=tmp_path, on_progress=lambda p: None)
        assert seen == [10, 20]  # the milestone of step 10 was not taken again
        card = checkpoints.load(path).card_
        assert sorted(card["milestones"]) == ["10", "20"]
        assert card["milestones"]["10"]["step"] == 10 and card["milestones"]["20"]["step"] == 20
        # the same run without the kill scores the same
        seen.clear()
        again = recipes.train_preset("dummy-phases", out_dir=tmp_path / "b",
                                     on_progress=lambda p: None)
        assert checkpoints.load(again).card_["milestones"] == card["milestones"]
    finally:
        families.unregister("dummy_phases")
