"""Loading imports only what it loads (issue 22, part 3): a checkpoint's kind maps to its own
model class without importing the other families, and ``unsup/`` has no import circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from unsup import checkpoints, families, kinds, paths

ROOT = Path(__file__).resolve().parent.parent


def test_the_kind_table_agrees_with_the_family_registry():
    """Every built-in family's model class is in the table under its kind, and the table
    holds no kind that no family claims."""
    claimed = {}
    for f in families.families():
        for cls in f.models:
            claimed[cls.kind] = cls
    assert set(kinds.BUILT_IN) == set(claimed)
    for kind, cls in claimed.items():
        assert kinds.model_class(kind) is cls, kind
    with pytest.raises(KeyError):
        kinds.model_class("no_such_kind")


OTHER_FAMILIES = ("unsup.recipes", "unsup.models.gan", "unsup.models.gan_variants",
                  "unsup.models.cyclegan", "unsup.models.domain_classifier",
                  "unsup.models.keypoints", "unsup.models.topics", "unsup.models.betavae",
                  "unsup.families")


def test_loading_a_vae_imports_no_other_family():
    """In a fresh interpreter, loading the shipped VAE imports its model module and no GAN,
    CycleGAN, keypoint, topic or β-VAE module, no recipe and not the registry."""
    if not (paths.SHIPPED_DIR / "vae-mnist-16d.safetensors").exists():
        pytest.skip("vae-mnist-16d is not shipped")
    code = ("import sys; from unsup import checkpoints; "
            "m = checkpoints.load('checkpoints/vae-mnist-16d'); print(type(m).__name__); "
            "print(sorted(n for n in sys.modules if n.startswith('unsup')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip().splitlines()
    assert out[0] == "ConvVAE"
    loaded = eval(out[-1])  # noqa: S307 - our own subprocess's printed list
    assert "unsup.models.vae" in loaded
    bad = [n for n in loaded if any(n == o or n.startswith(o + ".") for o in OTHER_FAMILIES)]
    assert not bad, bad


def _module_imports() -> dict[str, set[str]]:
    """unsup module -> the unsup modules it imports (at module level or inside a function)."""
    mods = {}
    for p in (ROOT / "unsup").rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return name

    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for t in targets:
                if t.startswith("unsup"):
                    r = resolve(t)
                    if r and r != m:
                        edges[m].add(r)
    return edges


def test_unsup_has_no_import_circle():
    """No module of unsup/ reaches itself through its imports (function-level ones count)."""
    edges = _module_imports()
    circles = []
    for start in edges:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in edges[node]:
                if nxt == start:
                    circles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert not circles, circles[:5]


def test_the_loader_sits_below_the_registry():
    """The circle there was (checkpoints -> families -> checkpoints) is gone the right way:
    the loader asks the kind table, the registry may use the loader."""
    edges = _module_imports()
    assert "unsup.kinds" in edges["unsup.checkpoints"]
    assert "unsup.families" not in edges["unsup.checkpoints"]
    assert "unsup.checkpoints" in edges["unsup.families"]  # the registry is above the loader


def test_a_run_time_family_loads_through_the_table(tmp_path):
    """A family registered at run time is loadable, and no longer once unregistered."""
    from test_families import DUMMY

    families.register(DUMMY)
    try:
        cls = DUMMY.models[0]
        assert kinds.model_class(cls.kind) is cls
        card = {"kind": cls.kind, "config": {}}
        assert isinstance(checkpoints.build_model(card), cls)
    finally:
        families.unregister(DUMMY.name)
    with pytest.raises(KeyError):
        kinds.model_class(DUMMY.models[0].kind)
