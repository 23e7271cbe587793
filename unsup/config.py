"""Helpers shared by every model config dataclass."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a plain JSON-able dict."""
    return dataclasses.asdict(config)


def config_from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """Build ``cls`` from ``values``, ignoring keys the class does not know (older cards) and
    keeping defaults for keys a card does not have (newer fields). A class with its own
    ``from_dict`` (a config with a nested config, e.g. the topic models' text settings) reads
    the values itself."""
    if hasattr(cls, "from_dict"):
        return cls.from_dict(values)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
