"""Checkpoints: weights in safetensors plus a JSON card; the registry of shipped and user models.

A checkpoint named ``name`` in folder ``d`` is

- ``d/name.safetensors``  the weights; the card is embedded in its metadata (key ``unsup_card``),
  so one file is self-describing, and the embedded card is the one that counts;
- ``d/name.json``         a copy of the card, for people and for listing without torch;
- ``d/name.optim-<step>.pt`` optional, resumable optimizer state of exactly that step, read with
  ``torch.load(..., weights_only=True)``; the weights' card names it.

A save is one unit: the optimizer state of step s is written first, then the weights of step s
(the commit point: an atomic rename), then the card copy; older optimizer files go last. A process
killed anywhere in between leaves the previous complete checkpoint or the new one, never weights
of one step with optimizer state of another (a load refuses such a mix).

Loading never unpickles model code. Every write is atomic (temp file, then ``os.replace``).
"""

from __future__ import annotations

import io
import json
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save as st_save_bytes

from unsup import paths
from unsup.config import config_from_dict, config_to_dict
from unsup.fileio import atomic_write_bytes, atomic_write_json
from unsup.models.base import Model

CARD_KEY = "unsup_card"
MAX_CHECKPOINT_BYTES = 200 * 1024 * 1024


class CheckpointError(ValueError):
    """A file that is not a usable unsup checkpoint; the message is meant for the user."""


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


def weights_path(path: str | Path) -> Path:
    """``path`` with the ``.safetensors`` suffix (given with or without it)."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_name(path.name + ".safetensors")


def save(model: Model, path: str | Path, card: dict[str, Any], *, optimizer: bool = True,
         compact: bool = False) -> Path:
    """Write the checkpoint ``path`` as one unit (see the module docstring); returns the weights
    path. ``optimizer``: also keep the optimizer state and RNG, so training can resume.
    ``compact`` (finished checkpoints only): leave out what the model can rebuild on load
    (:meth:`unsup.models.base.Model.compact_state`) and, for a ``store_half`` model, store its
    float32 tensors as float16."""
    path = weights_path(path)
    card = dict(card)
    if compact and optimizer:
        raise ValueError("a compact checkpoint cannot be resumed: save it without optimizer")
    optim = None
    if optimizer:
        optim = path.with_name(f"{path.stem}.optim-{int(card.get('step', 0))}.pt")
        state = model.optimizer_state()
        state["rng"] = model.rng.get_state()
        state["step"] = torch.tensor(int(card.get("step", 0)))
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(optim, buf.getvalue())
        card["optimizer_file"] = optim.name
    else:
        card.pop("optimizer_file", None)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if compact:
        tensors = model.compact_state(tensors)
        if model.store_half:  # float16 on disk; load_state_dict turns it back into float32
            tensors = {k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}
    meta = {CARD_KEY: json.dumps(card, ensure_ascii=False)}
    atomic_write_bytes(path, st_save_bytes(tensors, metadata=meta))  # the commit point
    atomic_write_json(path.with_suffix(".json"), card)
    for old in optimizer_files(path):
        if old != optim:
            old.unlink(missing_ok=True)
    return path


def to_bytes(model: Model, card: dict[str, Any]) -> bytes:
    """A finished checkpoint of ``model`` as the bytes of one self-describing ``.safetensors``
    file (compact, the card embedded): what a page offers as a download, and what
    :func:`read_checkpoint_bytes` and :func:`build_model` read back."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors = model.compact_state(tensors)
    if model.store_half:
        tensors = {k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}
    card = {k: v for k, v in card.items() if k != "optimizer_file"}
    return st_save_bytes(tensors, metadata={CARD_KEY: json.dumps(card, ensure_ascii=False)})


def update_card(weights: str | Path, expect_step: int | None = None, **fields: Any
                ) -> dict[str, Any]:
    """Write ``fields`` into the card of the checkpoint ``weights`` (embedded card and JSON
    copy), leaving its tensors byte-for-byte as they are; returns the new card. Atomic like
    :func:`save`. ``expect_step``: refuse (CheckpointError) if the checkpoint has moved on to
    another step meanwhile (a measurement of step s must not land on the weights of step t)."""
    weights = weights_path(weights)
    data = weights.read_bytes()
    tensors, card = read_checkpoint_bytes(data)
    if expect_step is not None and int(card.get("step", -1)) != int(expect_step):
        raise CheckpointError(f"{weights.name} moved on to step {card.get('step')} while it "
                              f"was measured at step {expect_step}; measure it again.")
    card = {**card, **fields}
    meta = {CARD_KEY: json.dumps(card, ensure_ascii=False)}
    atomic_write_bytes(weights, st_save_bytes(tensors, metadata=meta))
    atomic_write_json(weights.with_suffix(".json"), card)
    return card


def optimizer_files(weights: str | Path) -> list[Path]:
    """Every optimizer-state file of the checkpoint ``weights`` (current and stale ones)."""
    weights = weights_path(weights)
    legacy = weights.with_suffix(".optim.pt")
    found = sorted(weights.parent.glob(f"{weights.stem}.optim-*.pt"))
    return found + ([legacy] if legacy.exists() else [])


def resumable(weights: str | Path) -> bool:
    """True if the checkpoint holds the optimizer state of its own step (training can resume)."""
    weights = weights_path(weights)
    if not weights.exists():
        return False
    try:
        card = read_card(weights)
    except CheckpointError:
        return False
    name = card.get("optimizer_file")
    return bool(name) and (weights.parent / name).exists()


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
        raise CheckpointError(f"The file is {len(data) / 2**20:.0f} MB; the limit is "
                              f"{MAX_CHECKPOINT_BYTES / 2**20:.0f} MB.")
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


def read_card(weights: str | Path) -> dict[str, Any]:
    """The card embedded in a safetensors file, reading only its header."""
    weights = weights_path(weights)
    try:
        with open(weights, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{weights.name} is truncated (shorter than a header).")
            (n,) = struct.unpack("<Q", head)
            if n > 100 * 1024 * 1024 or n > weights.stat().st_size - 8:
                why = _sniff(head + fh.read(64)) or "its header is damaged"
                raise CheckpointError(f"{weights.name} is not a usable checkpoint: {why}.")
            header = json.loads(fh.read(n))
        card = json.loads((header.get("__metadata__") or {})[CARD_KEY])
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{weights.name} has no readable unsup card "
                              f"({type(exc).__name__}).") from exc
    if not isinstance(card, dict) or "kind" not in card:
        raise CheckpointError(f"The card in {weights.name} names no model kind.")
    return card


def build_model(card: dict[str, Any], tensors: dict[str, torch.Tensor] | None = None) -> Model:
    """Rebuild the model a card describes (and fill in its weights, if given)."""
    from unsup import kinds  # the kind's own model module only (no other family's)

    try:
        cls = kinds.model_class(card["kind"])
    except KeyError as exc:
        raise CheckpointError(f"Unknown model kind in card: {card.get('kind')!r}.") from exc
    try:
        model = cls(config_from_dict(cls.config_class, card.get("config", {})))
    except Exception as exc:
        raise CheckpointError(f"The card's config does not build a model: {exc}") from exc
    if tensors is not None:
        try:
            missing, unexpected = model.load_state_dict(model.complete_state(tensors),
                                                        strict=False)
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
    """Load a checkpoint from disk (``.safetensors`` path, or its name without suffix).

    The card embedded in the weights is the one used (the JSON beside them is a copy).
    ``optimizer``: also restore the optimizer state and RNG of the same step, for resuming;
    raises :class:`CheckpointError` if that state is missing, of another step or not plain
    tensors.
    """
    path = weights_path(path)
    if not path.exists():
        raise CheckpointError(f"No checkpoint at {path}.")
    tensors, card = read_checkpoint_bytes(path.read_bytes())
    model = build_model(card, tensors)
    model.path_ = path
    if optimizer:
        load_optimizer(model, path, card)
    return model


def load_optimizer(model: Model, path: Path, card: dict[str, Any]) -> None:
    name = card.get("optimizer_file")
    opt = path.parent / name if name else None
    if opt is None or not opt.exists():
        raise CheckpointError(f"{path.name} has no optimizer state of its step "
                              f"{card.get('step')}, so it cannot be resumed exactly.")
    try:
        state = torch.load(opt, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a pickle with code in it, or a damaged file
        raise CheckpointError(
            f"{opt.name} is not plain optimizer state (it holds Python objects, or it is "
            "damaged), so it was not loaded: unsup never unpickles code. Delete that file to "
            "keep the weights without resuming, or retrain.") from exc
    if not isinstance(state, dict) or int(state.pop("step", torch.tensor(-1))) != int(
            card.get("step", 0)):
        raise CheckpointError(f"{opt.name} belongs to another step than the weights "
                              f"(step {card.get('step')}); it was not used.")
    rng = state.pop("rng", None)
    try:
        model.load_optimizer_state(state)
        if rng is not None:
            model.rng.set_state(rng)
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{opt.name} does not fit this model's optimizers "
                              f"({type(exc).__name__}).") from exc


# -- registry ---------------------------------------------------------------------------------
@dataclass
class Entry:
    """One model the app can offer: a shipped checkpoint or a user run.

    ``problem`` is None for a usable checkpoint, else why it cannot be loaded (a broken run is
    listed with its reason instead of breaking the page that lists it)."""

    name: str
    path: Path
    card: dict[str, Any]
    source: str  # "shipped" or "user"
    problem: str | None = None

    @property
    def kind(self) -> str:
        return self.card.get("kind", "?")

    @property
    def title(self) -> str:
        return self.card.get("title") or self.name

    @property
    def folder(self) -> str:
        """Where a user run lives, as the user knows it: its run folder's name (a page never
        shows the server's paths); a shipped model's file name."""
        return self.path.name if self.source == "shipped" else self.path.parent.name

    @property
    def mtime(self) -> float:
        return self.path.stat().st_mtime

    @property
    def label(self) -> str:
        """What a model picker shows: title, whose, steps and date (unique in practice)."""
        whose = "shipped" if self.source == "shipped" else "your run"
        step = self.card.get("step")
        when = str(self.card.get("created") or "")[:16].replace("T", " ")
        bits = [whose] + ([f"{step:,} steps"] if isinstance(step, int) else []) + (
            [when] if self.source == "user" and when else [])
        return f"{self.title} ({', '.join(bits)})"


WEIGHT_SUFFIXES = (".safetensors", ".npz")
"""Files a card may describe: torch weights, or plain arrays (the topic models)."""

_VALIDATED: dict[tuple, tuple[dict, str | None]] = {}


def _header(weights: Path) -> tuple[int, dict[str, Any]]:
    """(header length, header) of a safetensors file."""
    with open(weights, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        return n, json.loads(fh.read(n))


def validate(weights: Path) -> tuple[dict[str, Any], str | None]:
    """(card, problem) of a weights file, without reading its tensors: the header must parse,
    the card must name a known kind whose config builds a model, the tensors the header lists
    must be exactly that model's (names and shapes), and the file must be as long as the header
    says. Cached by path, size and modification time."""
    st = weights.stat()
    key = (str(weights), st.st_size, st.st_mtime_ns)
    if key in _VALIDATED:
        return _VALIDATED[key]
    card: dict[str, Any] = {}
    problem = None
    if weights.suffix == ".npz":
        side = weights.with_suffix(".json")
        try:
            card = json.loads(side.read_text(encoding="utf-8"))
            if not isinstance(card, dict) or "kind" not in card:
                card, problem = {}, f"{side.name} names no model kind"
        except (OSError, json.JSONDecodeError) as exc:
            problem = f"its card {side.name} is missing or not JSON ({type(exc).__name__})"
    else:
        try:
            card = read_card(weights)
            n_head, header = _header(weights)
            model = build_model(card)
            state = model.state_dict()
            want = {k: list(v.shape) for k, v in state.items()}
            compact = {k: list(v.shape) for k, v in model.compact_state(state).items()}
            have = {k: v.get("shape") for k, v in header.items() if k != "__metadata__"}
            end = max((v["data_offsets"][1] for k, v in header.items()
                       if k != "__metadata__"), default=0)
            if getattr(model, "data_shaped", False):  # sizes are the data's (a topic model's
                have, want, compact = set(have), set(want), set(compact)  # corpus): names only
            if have != want and have != compact:
                problem = (f"its tensors do not fit a {card.get('kind')} with its config "
                           "(the card claims another model)")
            elif st.st_size < 8 + n_head + end:
                problem = "the file is truncated"
        except CheckpointError as exc:
            problem = str(exc).rstrip(".")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = f"it could not be read ({type(exc).__name__})"
    _VALIDATED[key] = (card, problem)
    return card, problem


_KINDS: dict[tuple, str | None] = {}


def _kinds(kind: str | tuple[str, ...]) -> tuple[str, ...]:
    return (kind,) if isinstance(kind, str) else tuple(kind)


def _of_other_kind(weights: Path, kind: str | tuple[str, ...]) -> bool:
    """True when the card of ``weights`` (its header only) names none of the kinds ``kind``, or
    cannot be read (it would then be listed under no kind). Cached like :func:`validate`, by
    path, size and modification time: a page rerun lists its models without reading files."""
    if weights.suffix != ".safetensors":
        return False
    st = weights.stat()
    key = (str(weights), st.st_size, st.st_mtime_ns)
    if key in _VALIDATED:
        return _VALIDATED[key][0].get("kind") not in _kinds(kind)
    if key not in _KINDS:
        try:
            _KINDS[key] = read_card(weights).get("kind")
        except CheckpointError:
            _KINDS[key] = None
    return _KINDS[key] not in _kinds(kind)


def _scan(folder: Path, source: str, recursive: bool,
          kind: str | tuple[str, ...] | None = None) -> list[Entry]:
    """The checkpoints under ``folder``, validated; with ``kind``, only that kind's (the others
    are not validated: a page listing its models builds none of the other families')."""
    out = []
    for suffix in WEIGHT_SUFFIXES:
        pattern = f"**/*{suffix}" if recursive else f"*{suffix}"
        for weights in sorted(folder.glob(pattern)):
            if weights.name.startswith("."):
                continue  # a temp file of an atomic write
            if not _is_checkpoint_file(weights):
                continue  # e.g. a run's stored uploads (data.npz, domains.npz)
            try:
                if kind is not None and _of_other_kind(weights, kind):
                    continue
            except OSError:
                continue  # vanished while listing
            try:
                card, problem = validate(weights)
            except OSError:
                continue  # vanished while listing
            if weights.name.endswith(".best.safetensors") and _same_as_last(weights):
                continue  # the run's best state is its last checkpoint: listed once
            default = weights.parent.name if recursive and weights.parent != folder else (
                weights.stem)
            name = str(card.get("name") or default)
            out.append(Entry(name=name, path=weights, card=card, source=source, problem=problem))
    return out


def _is_checkpoint_file(path: Path) -> bool:
    """True for a file that may hold a model: any ``.safetensors``, and an ``.npz`` only with a
    card (``.json``) beside it. A topic model is always saved with its card (a save that cannot
    write the card removes the arrays too), while a run's other arrays (the uploaded images a
    run keeps to resume on them, ``data.npz`` / ``domains.npz``) have none: they are data, not
    checkpoints, and are neither listed nor reported as broken."""
    if path.suffix != ".npz":
        return True
    return path.with_suffix(".json").is_file()


def _same_as_last(best: Path) -> bool:
    """True when a run's "best so far" copy holds the same step as its last checkpoint."""
    last = best.with_name(best.name.replace(".best.safetensors", ".safetensors"))
    try:
        return last.exists() and read_card(last).get("step") == read_card(best).get("step")
    except CheckpointError:
        return False


def _unique_names(entries: list[Entry], root: Path) -> None:
    """Give every entry a name no other has. Names are handed out in ``entries``' order, except
    that usable checkpoints come before broken ones and a run's last checkpoint before its
    "best so far" copy, so that neither a broken file nor a copy takes the name of the model it
    sits beside. A user run whose name is taken (by a shipped model or an earlier run) is named
    ``run:<its folder under the runs folder>`` (``run:<folder>/<file>`` for a file other than
    the run's ``model``)."""
    seen: set[str] = set()
    order = sorted(range(len(entries)), key=lambda i: (
        entries[i].problem is not None, entries[i].path.name.endswith(".best.safetensors"), i))
    for e in (entries[i] for i in order):
        if e.name in seen and e.source == "user":
            try:
                rel = e.path.relative_to(root).with_suffix("")
            except ValueError:
                rel = e.path.with_suffix("")
            if rel.name == "model" and len(rel.parts) > 1:
                rel = rel.parent
            e.name = f"run:{rel.as_posix()}"
            if e.name in seen:
                e.name = f"run:{e.path.relative_to(root).with_suffix('').as_posix()}" if (
                    e.path.is_relative_to(root)) else f"run:{e.path.with_suffix('').as_posix()}"
        seen.add(e.name)


def list_models(kind: str | tuple[str, ...] | None = None, *,
                broken: bool = False) -> list[Entry]:
    """Shipped checkpoints, then user runs (newest first), optionally of one kind or of a tuple
    of kinds (a page's picker: only those are validated). Runs that cannot be loaded are left
    out unless ``broken`` (then they come with ``problem`` set)."""
    shipped = _scan(paths.SHIPPED_DIR, "shipped", recursive=False, kind=kind)
    runs = paths.runs_dir()
    user = sorted(_scan(runs, "user", recursive=True, kind=kind),
                  key=lambda e: (-e.mtime, str(e.path)))
    entries = shipped + sorted(user, key=lambda e: (e.mtime, str(e.path)))
    _unique_names(entries, runs)  # older runs keep their names; later clashes get a path name
    entries = shipped + user
    if kind is not None:
        entries = [e for e in entries if e.kind in _kinds(kind)]
    return [e for e in entries if broken or e.problem is None]


def broken_runs(kinds: tuple[str, ...] | None = None) -> list[Entry]:
    """User runs (of ``kinds``, or whose kind is unreadable) that cannot be loaded, with why."""
    return [e for e in list_models(broken=True) if e.problem is not None
            and (kinds is None or e.kind in kinds or e.kind == "?")]


def find(name: str) -> Entry:
    for entry in list_models(broken=True):
        if entry.name == name:
            if entry.problem:
                raise CheckpointError(f"{name} cannot be loaded: {entry.problem}.")
            return entry
    raise CheckpointError(f"No model named {name!r}. Try `python -m unsup list`.")
