"""Checkpoints: weights in safetensors plus a JSON card; the registry of shipped and user models.

A checkpoint named ``name`` in folder ``d`` is

- ``d/name.safetensors``  the weights; the card is also embedded in its metadata (key
  ``unsup_card``) so that one uploaded file is self-describing;
- ``d/name.json``         the card: kind, config, step, metrics, data fingerprint, the exact CLI
  command that made it, date, seconds taken;
- ``d/name.optim.pt``     optional, resumable optimizer state, read with
  ``torch.load(..., weights_only=True)``.

Loading never unpickles model code. Every write is atomic (temp file, then ``os.replace``).
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save as st_save_bytes

from unsup import paths
from unsup.config import config_from_dict, config_to_dict
from unsup.models.base import Model, get_model_class

CARD_KEY = "unsup_card"
MAX_CHECKPOINT_BYTES = 200 * 1024 * 1024


class CheckpointError(ValueError):
    """A file that is not a usable unsup checkpoint; the message is meant for the user."""


# -- atomic writes ----------------------------------------------------------------------------
def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8"))


# -- cards ------------------------------------------------------------------------------------
def make_card(model: Model, *, step: int, metrics: dict | None = None, data: dict | None = None,
              command: str | None = None, seconds: float | None = None, title: str | None = None,
              description: str | None = None, extra: dict | None = None) -> dict[str, Any]:
    card = {
        "format": "unsup-checkpoint/1",
        "kind": model.kind,
        "config": config_to_dict(model.config),
        "step": int(step),
        "metrics": metrics or {},
        "data": data or {},
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": None if seconds is None else round(float(seconds), 2),
        "title": title,
        "description": description,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
    }
    if extra:
        card.update(extra)
    return card


def save(model: Model, path: str | Path, card: dict[str, Any], *, optimizer: bool = True) -> Path:
    """Write ``path`` (.safetensors), the card beside it and, if asked, the optimizer state.

    ``path`` may be given with or without the ``.safetensors`` suffix. Returns the weights path.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {CARD_KEY: json.dumps(card, ensure_ascii=False)}
    atomic_write_bytes(path, st_save_bytes(tensors, metadata=meta))
    atomic_write_json(path.with_suffix(".json"), card)
    if optimizer:
        state = model.optimizer_state()
        state["rng"] = model.rng.get_state()
        import io

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(optimizer_path(path), buf.getvalue())
    return path


def optimizer_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".optim.pt")


def _sniff(data: bytes) -> str | None:
    """Why ``data`` is not a safetensors file, or None if its header looks right."""
    if len(data) == 0:
        return "the file is empty"
    if len(data) >= 10:
        (n,) = struct.unpack("<Q", data[:8])
        if 0 < n <= len(data) - 8 and data[8:9] == b"{":
            return None
    if data[:1] == b"\x80" or data[:2] == b"PK" or data[:1] in (b"(", b"c", b"}", b"]"):
        return ("it looks like a Python pickle (or a torch.save archive). unsup never unpickles "
                "uploaded files, because unpickling can run arbitrary code; save the weights "
                "with safetensors instead")
    return "it is not a safetensors file (its header is not valid)"


def read_checkpoint_bytes(data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Parse an uploaded .safetensors file into (tensors, card); raises CheckpointError."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"The file is {len(data) / 1e6:.0f} MB; the limit is "
                              f"{MAX_CHECKPOINT_BYTES / 1e6:.0f} MB.")
    why = _sniff(data)
    if why:
        raise CheckpointError(f"This is not an unsup checkpoint: {why}.")
    try:
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        tensors = st_load_bytes(data)
    except Exception as exc:  # corrupt safetensors
        raise CheckpointError(f"This safetensors file is damaged ({type(exc).__name__}).") from exc
    meta = header.get("__metadata__") or {}
    if CARD_KEY not in meta:
        raise CheckpointError("This safetensors file has no unsup card in its metadata, so the "
                              "model it holds is unknown. Save checkpoints with unsup.")
    try:
        card = json.loads(meta[CARD_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError("The card inside this checkpoint is not valid JSON.") from exc
    return tensors, card


def build_model(card: dict[str, Any], tensors: dict[str, torch.Tensor] | None = None) -> Model:
    """Rebuild the model a card describes (and fill in its weights, if given)."""
    try:
        cls = get_model_class(card["kind"])
    except KeyError as exc:
        raise CheckpointError(f"Unknown model kind in card: {card.get('kind')!r}.") from exc
    try:
        model = cls(config_from_dict(cls.config_class, card.get("config", {})))
    except Exception as exc:
        raise CheckpointError(f"The card's config does not build a model: {exc}") from exc
    if tensors is not None:
        try:
            missing, unexpected = model.load_state_dict(tensors, strict=False)
        except RuntimeError:  # shape mismatch
            missing, unexpected = ["(shapes differ)"], []
        if missing or unexpected:
            raise CheckpointError(
                f"The weights do not fit a {card['kind']} with this config "
                f"(missing {len(missing)}, unexpected {len(unexpected)} tensors).")
    model.step_ = int(card.get("step", 0))
    model.card_ = card
    model.eval()
    return model


def load(path: str | Path, *, optimizer: bool = False) -> Model:
    """Load a checkpoint from disk (``.safetensors`` path, or its name without suffix)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    if not path.exists():
        raise CheckpointError(f"No checkpoint at {path}.")
    tensors, card = read_checkpoint_bytes(path.read_bytes())
    side = path.with_suffix(".json")
    if side.exists():  # the card beside the weights may carry newer metrics (from eval)
        try:
            card = {**card, **json.loads(side.read_text(encoding="utf-8"))}
        except (OSError, json.JSONDecodeError):
            pass
    model = build_model(card, tensors)
    model.path_ = path
    opt = optimizer_path(path)
    if optimizer and opt.exists():
        state = torch.load(opt, map_location="cpu", weights_only=True)
        rng = state.pop("rng", None)
        model.load_optimizer_state(state)
        if rng is not None:
            model.rng.set_state(rng)
    return model


# -- registry ---------------------------------------------------------------------------------
@dataclass
class Entry:
    """One model the app can offer: a shipped checkpoint or a user run."""

    name: str
    path: Path
    card: dict[str, Any]
    source: str  # "shipped" or "user"

    @property
    def kind(self) -> str:
        return self.card.get("kind", "?")

    @property
    def title(self) -> str:
        return self.card.get("title") or self.name

    @property
    def mtime(self) -> float:
        return self.path.stat().st_mtime


WEIGHT_SUFFIXES = (".safetensors", ".npz")
"""Files a card may describe: torch weights, or plain arrays (the topic models)."""


def _scan(folder: Path, source: str, recursive: bool) -> list[Entry]:
    out = []
    pattern = "**/*.json" if recursive else "*.json"
    for card_path in sorted(folder.glob(pattern)):
        weights = next((card_path.with_suffix(s) for s in WEIGHT_SUFFIXES
                        if card_path.with_suffix(s).exists()), None)
        if weights is None:
            continue
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(card, dict) or "kind" not in card:
            continue
        name = card.get("name") or (card_path.parent.name if recursive else card_path.stem)
        out.append(Entry(name=name, path=weights, card=card, source=source))
    return out


def list_models(kind: str | None = None) -> list[Entry]:
    """Shipped checkpoints, then user runs (newest first), optionally of one kind."""
    shipped = _scan(paths.SHIPPED_DIR, "shipped", recursive=False)
    user = sorted(_scan(paths.runs_dir(), "user", recursive=True), key=lambda e: -e.mtime)
    entries = shipped + user
    if kind is not None:
        entries = [e for e in entries if e.kind == kind]
    return entries


def find(name: str) -> Entry:
    for entry in list_models():
        if entry.name == name:
            return entry
    raise CheckpointError(f"No model named {name!r}. Try `python -m unsup list`.")


def update_card(weights: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the JSON card beside ``weights`` (atomic)."""
    card_path = Path(weights).with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.update(fields)
    atomic_write_json(card_path, card)
    return card
