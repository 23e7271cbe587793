"""The one registry of model families.

A *family* is everything one kind of model brings to the lab: its model classes (and so the card
kinds it can load), their labels, its presets (the named recipes of shipped checkpoints), how it
builds a model and its training data for a preset, how it evaluates a model on held-out data, its
built-in data sets, its page and the modules to warm up before the first visitor. Each family is
one :class:`Family` record, exported as ``FAMILY`` by one recipe module under ``unsup/recipes/``,
and registered once: by a line in :data:`FAMILY_MODULES`, or at run time with :func:`register`.

The CLI (``list``, ``train``, ``eval``, ``presets``, ``bench``), the model pickers, the home page,
the warm-up and the checkpoint loader all read this registry; nothing else keeps a per-family
table. Adding a family is one recipe module (plus its model module) and one line here.

This module is light on purpose (no torch at import); family modules are imported on first use.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

FAMILY_MODULES: list[str] = [
    "unsup.recipes.vae",
    "unsup.recipes.classifier",
    "unsup.recipes.betavae",
    "unsup.recipes.topics",
    "unsup.recipes.gan",
    "unsup.recipes.clustering",
    "unsup.recipes.keypoints",
    "unsup.recipes.cyclegan",
    "unsup.recipes.flows",
    "unsup.recipes.ganapps",
    "unsup.recipes.translation",
    "unsup.recipes.evolution",
    "unsup.recipes.automl",
]
"""The registration lines: one recipe module per family, each exporting ``FAMILY``."""


@dataclass(frozen=True)
class PageInfo:
    """A page of the lab: its URL path (``key``), title, icon, file, the home card's line and
    a thumbnail function (``"module:function"`` returning a PIL image)."""

    key: str
    title: str
    icon: str
    file: str  # relative to the repository root
    blurb: str
    thumbnail: str | None = None
    order: int = 100  # position in the navigation

    @property
    def ready(self) -> bool:
        from unsup.paths import ROOT

        return (ROOT / self.file).exists()


@dataclass(frozen=True)
class Preset:
    """A named recipe of a shipped checkpoint: ``python -m unsup train <name>`` rebuilds it.

    Every family uses this one shape; ``options`` holds what only that family needs (e.g. the
    language and size of a topic corpus).
    """

    name: str
    title: str
    description: str
    kind: str  # the card kind it trains
    steps: int  # optimisation steps (Gibbs sweeps for a topic model)
    config: dict = field(default_factory=dict)  # overrides of the kind's config dataclass
    data: str = ""  # the built-in data set it trains on (a key of the family's ``data``)
    checkpoint_every: int = 1_000  # resumable checkpoints this often (0: only at the end)
    options: dict = field(default_factory=dict)


@dataclass
class Family:
    """One model family (see the module docstring).

    ``build(preset) -> (model, data, data_card)``: a fresh model for a preset, its training data
    (see :class:`unsup.train.Indexable`) and the card's ``data`` field. ``evaluate(model) ->
    dict``: held-out metrics of a loaded model, recomputed (a key ``extra_metrics`` holds
    per-latent arrays kept apart from the headline numbers). ``load(path)``: the model in a
    weights file (default: :func:`unsup.checkpoints.load`). ``train(preset, **options) -> Path``:
    only for a family that does not train through :func:`unsup.train.fit` (topic models).
    ``milestone(model) -> dict``: scores of the model part-way, taken at each step listed in a
    preset's ``options["milestones"]`` (a run in phases scores each phase) and kept in the card
    as ``milestones``.
    """

    name: str
    label: str
    models: tuple = ()
    kind_labels: dict[str, str] = field(default_factory=dict)
    presets: tuple[Preset, ...] = ()
    build: Callable[[Preset], tuple[Any, Any, dict]] | None = None
    evaluate: Callable[[Any], dict] | None = None
    load: Callable[[Path], Any] | None = None
    train: Callable[..., Path] | None = None
    data: dict[str, str] = field(default_factory=dict)
    page: PageInfo | None = None
    warm: tuple[str, ...] = ()  # modules to import, or "module:function" to call, at warm-up
    headline: tuple[str, ...] = ()  # metric keys `python -m unsup list` shows
    bench: tuple[str, ...] = ()  # its scripts under bench/ (`python -m unsup bench <family>`)
    milestone: Callable[[Any], dict] | None = None  # scores at a preset's options["milestones"]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.kind_labels) or tuple(cls.kind for cls in self.models)

    def kind_label(self, kind: str) -> str:
        return self.kind_labels.get(kind, kind)

    def preset(self, name: str) -> Preset:
        for p in self.presets:
            if p.name == name:
                return p
        raise KeyError(name)

    def load_model(self, path: str | Path):
        if self.load is not None:
            return self.load(Path(path))
        from unsup import checkpoints

        return checkpoints.load(path)


_LOCK = threading.RLock()
_LOADED: list[Family] | None = None
_EXTRA: list[Family] = []


def _check(families: list[Family]) -> None:
    seen_names, seen_kinds, seen_presets = set(), {}, {}
    for f in families:
        if f.name in seen_names:
            raise ValueError(f"two families are named {f.name!r}")
        seen_names.add(f.name)
        for k in f.kinds:
            if k in seen_kinds:
                raise ValueError(f"kind {k!r} is claimed by {seen_kinds[k]} and {f.name}")
            seen_kinds[k] = f.name
        for p in f.presets:
            if p.name in seen_presets:
                raise ValueError(f"preset {p.name!r} is in {seen_presets[p.name]} and {f.name}")
            seen_presets[p.name] = f.name


def families() -> list[Family]:
    """Every registered family, in registration order."""
    global _LOADED
    with _LOCK:
        if _LOADED is None:
            loaded = [importlib.import_module(m).FAMILY for m in FAMILY_MODULES]
            _check(loaded)
            _LOADED = loaded
        return _LOADED + list(_EXTRA)


def register(family: Family) -> Family:
    """Add a family at run time (tests, plug-ins); the same checks as the built-in ones. Its
    model classes become loadable by the checkpoint loader (:mod:`unsup.kinds`)."""
    from unsup import kinds

    with _LOCK:
        _check(families() + [family])
        _EXTRA.append(family)
        for cls in family.models:
            kinds.register(cls)
    return family


def unregister(name: str) -> None:
    from unsup import kinds

    with _LOCK:
        for f in _EXTRA:
            if f.name == name:
                for cls in f.models:
                    kinds.unregister(cls.kind)
        _EXTRA[:] = [f for f in _EXTRA if f.name != name]


def get(name: str) -> Family:
    for f in families():
        if f.name == name:
            return f
    raise KeyError(f"no family {name!r}; known: {[f.name for f in families()]}")


def of_kind(kind: str) -> Family:
    """The family whose models a card of ``kind`` holds; KeyError if none."""
    for f in families():
        if kind in f.kinds:
            return f
    raise KeyError(f"unknown model kind {kind!r}; known: {sorted(all_kinds())}")


def all_kinds() -> list[str]:
    return [k for f in families() for k in f.kinds]


def model_class(kind: str):
    """The torch model class a card of ``kind`` loads as; KeyError if none."""
    f = of_kind(kind)
    for cls in f.models:
        if cls.kind == kind:
            return cls
    raise KeyError(f"kind {kind!r} of family {f.name} has no torch model class")


def of_preset(name: str) -> tuple[Family, Preset]:
    for f in families():
        for p in f.presets:
            if p.name == name:
                return f, p
    raise KeyError(f"unknown preset {name!r}; try `python -m unsup presets`")


def presets() -> list[tuple[Family, Preset]]:
    return [(f, p) for f in families() for p in f.presets]


def pages() -> list[PageInfo]:
    return [f.page for f in families() if f.page is not None]


def warm_modules() -> list[str]:
    """What the app's warm-up imports: each family's recipe module, then its own list."""
    out: list[str] = []
    for f in families():
        for m in f.warm:
            if m not in out:
                out.append(m)
    return out
