"""Which model class a checkpoint's ``kind`` loads as, importing that class's module only.

The family registry (:mod:`unsup.families`) lists every family's model classes, but asking it
imports every family's recipe module (and with them torchvision-free but heavy code of all eight
families). Loading one checkpoint should import its own model module and nothing else, so the
loader (:mod:`unsup.checkpoints`) asks this table instead: ``kind -> "module:Class"`` for the
built-in families, plus the classes of families registered at run time
(:func:`unsup.families.register` adds them here). ``tests/test_kinds.py`` checks the table
against the registry, so the two cannot disagree.

This module imports nothing from ``unsup`` at import time: it sits below the loader.
"""

from __future__ import annotations

import importlib
import threading

BUILT_IN: dict[str, str] = {
    "conv_vae": "unsup.models.vae:ConvVAE",
    "digit_classifier": "unsup.models.classifier:DigitClassifier",
    "betavae": "unsup.models.betavae:BetaVAE",
    "betatcvae": "unsup.models.betavae:BetaTCVAE",
    "factorvae": "unsup.models.betavae:FactorVAE",
    "gan2d": "unsup.models.gan:Toy2DGAN",
    "dcgan": "unsup.models.gan:DCGAN",
    "pggan": "unsup.models.gan_variants:ProgressiveGAN",
    "vaegan": "unsup.models.gan_variants:VAEGAN",
    "keypoints": "unsup.models.keypoints:KeypointModel",
    "cyclegan": "unsup.models.cyclegan:CycleGAN",
    "domain_classifier": "unsup.models.domain_classifier:DomainClassifier",
    "topics": "unsup.models.topics:LDA",
    "topics_plsa": "unsup.models.topics:PLSA",
    "flow2d": "unsup.models.flow2d:Flow2D",
    "glow": "unsup.models.glow:Glow",
    "dlvae": "unsup.models.dlvae:DLVAE",
    "superres": "unsup.models.superres:SuperResolution",
    "inpaint": "unsup.models.inpaint:Inpainter",
    "stackgan": "unsup.models.stackgan:StackGAN",
    "sprite_reader": "unsup.models.sprite_reader:SpriteReader",
    "vecmap_align": "unsup.models.align:VecmapAligner",
    "muse_align": "unsup.models.align:AdversarialAligner",
    "unmt": "unsup.models.unmt:UNMT",
    "flappy_ga": "unsup.models.evolution:GeneticAlgorithm",
    "flappy_es": "unsup.models.evolution:EvolutionStrategy",
    "flappy_pg": "unsup.models.evolution:PolicyGradient",
    "automl_search": "unsup.recipes.automl_search:VAESearch",
    "searched_vae": "unsup.models.automl:SearchedVAE",
}
"""The built-in families' torch model classes by card kind."""

_LOCK = threading.Lock()
_EXTRA: dict[str, type] = {}


def register(cls: type) -> None:
    """Make a run-time family's model class loadable (its ``kind`` attribute names it)."""
    with _LOCK:
        _EXTRA[cls.kind] = cls


def unregister(kind: str) -> None:
    with _LOCK:
        _EXTRA.pop(kind, None)


def known() -> list[str]:
    return [*BUILT_IN, *_EXTRA]


def model_class(kind: str) -> type:
    """The class a card of ``kind`` loads as; KeyError if no family has it."""
    with _LOCK:
        if kind in _EXTRA:
            return _EXTRA[kind]
    spec = BUILT_IN.get(kind)
    if spec is None:
        raise KeyError(f"unknown model kind {kind!r}; known: {sorted(known())}")
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)
