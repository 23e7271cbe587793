"""Exact likelihood vs bounds (issue 23, part 3). SKELETON: being written."""

from __future__ import annotations

from typing import Any

from unsup.families import Preset
from unsup.models.dlvae import DLVAE

KIND = "dlvae"
PRESETS: tuple[Preset, ...] = ()


def build(preset: Preset):
    raise NotImplementedError


def evaluate(model: DLVAE) -> dict[str, Any]:
    raise NotImplementedError
