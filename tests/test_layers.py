"""Layers that hold (issue 22, part 5): every module of ``unsup/`` imports only from its own
group or from a group below it, in the order the README states. Function-level imports count."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_kinds import _module_imports

LAYERS = [
    ("unsup", "paths", "config", "fileio"),
    ("text", "derived", "kinds"),
    ("data", "envs"),
    ("models", "viz"),
    ("metrics",),
    ("checkpoints",),
    ("train",),
    ("families", "jobs"),
    ("recipes",),
    ("ui",),
    ("serve", "__main__"),
]
"""Bottom to top: a group may import its own modules and the groups of lower rows only (two
groups of one row not each other: ``viz`` is a leaf beside ``models``, arrays in, figures out;
``envs``, the games learners play, sits beside ``data``)."""

RANK = {g: i for i, row in enumerate(LAYERS) for g in row}


def group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "unsup"


def violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for a, targets in edges.items():
        for b in targets:
            ga, gb = group(a), group(b)
            if ga != gb and RANK[gb] >= RANK[ga]:
                bad.append(f"{a} ({ga}) imports {b} ({gb})")
    return sorted(bad)


def test_every_module_is_in_a_layer():
    missing = sorted({group(m) for m in _module_imports()} - set(RANK))
    assert not missing, f"add these groups of unsup/ to LAYERS (and the README): {missing}"


def test_imports_only_go_down():
    bad = violations(_module_imports())
    assert not bad, bad


@pytest.mark.parametrize("edge", [("unsup.models.vae", "unsup.train"),
                                  ("unsup.viz.gan", "unsup.models.gan"),
                                  ("unsup.checkpoints", "unsup.families"),
                                  ("unsup.data.images", "unsup.metrics.gan")])
def test_the_check_catches_an_upward_import(edge):
    a, b = edge
    assert violations({a: {b}}) == [f"{a} ({group(a)}) imports {b} ({group(b)})"]


GRAD_SWITCHES = ("no_grad", "inference_mode", "enable_grad", "set_grad_enabled")


def model_runs_in(path: Path) -> list[str]:
    """Where a module switches autograd (the sign that it runs a model itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{n.lineno} {n.attr}" for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and n.attr in GRAD_SWITCHES]


def test_pages_run_no_model_themselves():
    """Issue 22, part 5: a page module is widgets and calls; what runs a model (under its own
    no_grad) lives in recipes/ or metrics/, not in unsup/ui/ or app_pages/."""
    root = Path(__file__).resolve().parent.parent
    found = [hit for folder in ("unsup/ui", "app_pages") for f in sorted((root / folder).glob(
        "*.py")) for hit in model_runs_in(f)]
    assert not found, found


def test_the_model_check_sees_a_grad_switch(tmp_path):
    f = tmp_path / "page.py"
    f.write_text("import torch\nwith torch.no_grad():\n    pass\n", encoding="utf-8")
    assert model_runs_in(f) == ["page.py:2 no_grad"]
