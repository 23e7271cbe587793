"""Training recipes and evaluation, one module per family (each exports ``FAMILY``, see
:mod:`unsup.families`), and the two functions every family shares:

- :func:`train_preset` — ``python -m unsup train <name>``: build the preset's model and data,
  train with :func:`unsup.train.fit` (checkpointing every ``preset.checkpoint_every`` steps and
  resuming from the last checkpoint when rerun), evaluate on held-out data, write the card;
- :func:`evaluate_entry` — ``python -m unsup eval <name>``: recompute a model's metrics. It never
  writes anything: shipped checkpoints stay exactly as shipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch

from unsup import checkpoints, families, paths
from unsup.train import Progress, best_path, distributed_rank, fit


def print_progress(every: int = 100) -> Callable[[Progress], None]:
    """The CLI's progress: one line every ``every`` steps and at the end."""

    def show(p: Progress) -> None:
        if p.step % every == 0 or p.step == p.total:
            losses = " ".join(f"{k} {v:.3f}" for k, v in p.losses.items())
            print(f"step {p.step}/{p.total}  {p.seconds:7.1f}s  {losses}", flush=True)

    return show


def check_steps(steps: int | None) -> None:
    """Refuse a step count that trains nothing (0, negative, or not a whole number): such a run
    would write an untrained model over its checkpoint and still end "done"."""
    if steps is None:
        return
    if isinstance(steps, bool) or not float(steps).is_integer() or steps < 1:
        raise ValueError(f"steps must be a whole number of at least 1 (got {steps!r})")


def writes_shipped(out_dir: str | Path | None) -> bool:
    """True when a preset trained into ``out_dir`` lands in the shipped ``checkpoints/`` folder
    (``None`` is the family's shipped place)."""
    if out_dir is None:
        return True
    shipped, out = paths.SHIPPED_DIR.resolve(), Path(out_dir).expanduser().resolve()
    return out == shipped or shipped in out.parents


def train_command(name: str, steps: int | None = None, out_dir: str | Path | None = None
                  ) -> str:
    """The command a card records: run again, it makes the same file in the same place. The
    CLI writes into a run folder of the user's unless told ``--out checkpoints``, so a shipped
    checkpoint's command says so."""
    return (f"python -m unsup train {name}" + ("" if steps is None else f" --steps {steps}")
            + (" --out checkpoints" if writes_shipped(out_dir) else ""))


def train_preset(name: str, *, steps: int | None = None, out_dir: str | Path | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 device: str | None = None) -> Path:
    """Train preset ``name`` and write ``<out_dir>/<name>`` (default: the shipped
    ``checkpoints/``) with held-out metrics, data fingerprint, command and seconds in the card.

    ``steps`` overrides the preset's step count (the card records what was run). If a resumable
    checkpoint of the run already exists there, training continues from it, so a killed run
    loses at most ``preset.checkpoint_every`` steps. ``device``: "cpu", "cuda", "cuda:1"...
    (default: a GPU when present). Under ``torchrun`` every process trains on its share of each
    batch and rank 0 alone writes. Returns the weights path.
    """
    check_steps(steps)
    family, preset = families.of_preset(name)
    if family.train is not None:
        return family.train(preset, steps=steps, out_dir=out_dir, on_progress=on_progress,
                            device=device)
    n_steps = int(preset.steps if steps is None else steps)
    out = Path(out_dir) if out_dir is not None else paths.SHIPPED_DIR
    path = checkpoints.weights_path(out / name)
    model, data, data_card = family.build(preset)
    seconds = 0.0
    if checkpoints.resumable(path):
        model = checkpoints.load(path, optimizer=True)
        seconds = float(model.card_.get("seconds") or 0.0)
        print(f"resuming {name} from step {model.step_}", flush=True)
    command = train_command(name, steps, out_dir)
    card = {"title": preset.title, "description": preset.description, "data": data_card,
            "command": command, "seconds": seconds, "extra": {"name": name}}
    t0 = time.perf_counter()
    # a run in phases is scored at the end of each (family.milestone); the scores travel in the
    # resumable checkpoints' cards, so a killed run keeps those it took
    marks = sorted({int(m) for m in preset.options.get("milestones", ()) if 0 < int(m) <= n_steps})
    if family.milestone is None:
        marks = []
    milestones = dict(model.card_.get("milestones") or {})
    for end in [m for m in marks if m >= model.step_] + [n_steps]:
        left = max(0, end - int(model.step_))
        if left:
            fit(model, data, steps=left, checkpoint_every=preset.checkpoint_every,
                checkpoint_path=path, card={**card, "milestones": milestones,
                                            "seconds": seconds + time.perf_counter() - t0},
                on_progress=on_progress or print_progress(),
                log_every=100 if n_steps >= 1000 else 10, device=device)
        if end in marks and str(end) not in milestones:
            milestones[str(end)] = family.milestone(model)
            if distributed_rank() == 0 and end < n_steps:  # resumable, with the new score
                c = checkpoints.make_card(
                    model, step=model.step_, data=data_card, command=command,
                    seconds=seconds + time.perf_counter() - t0, title=preset.title,
                    description=preset.description, extra={"name": name})
                checkpoints.save(model, path, {**c, "milestones": milestones})
    train_seconds = seconds + time.perf_counter() - t0
    if distributed_rank() != 0:
        return path
    # measure the model as `eval` will see it: loaded back from the file just written (the
    # in-memory one may hold its weights in another memory layout, whose codes differ in the
    # last bits, enough to flip a vote of a disentanglement score)
    model = checkpoints.load(path)
    model.round_to_stored()  # a float16-stored model is measured as it will be stored
    model.card_ = {**card, "kind": model.kind, "step": model.step_}
    t1 = time.perf_counter()
    metrics = dict(family.evaluate(model))
    extra_metrics = metrics.pop("extra_metrics", None)
    final = checkpoints.make_card(
        model, step=model.step_, metrics=metrics, data=data_card, command=command,
        seconds=train_seconds, title=preset.title, description=preset.description,
        extra={"name": name, "threads": torch.get_num_threads(), "device": str(model.device),
               "eval_seconds": round(time.perf_counter() - t1, 1),
               **({"milestones": milestones} if milestones else {}),
               **({"extra_metrics": extra_metrics} if extra_metrics else {})})
    # the finished checkpoint: metrics embedded in the weights file too; the optimizer state
    # (only needed to resume an unfinished run), what the model can rebuild on load and the
    # run's "best so far" copy are dropped
    saved = checkpoints.save(model, path, final, optimizer=False, compact=True)
    best = best_path(path)
    for f in (best, best.with_suffix(".json")):
        f.unlink(missing_ok=True)
    return saved


def evaluate_entry(entry: checkpoints.Entry) -> dict[str, Any]:
    """Recompute the held-out metrics of a listed model (read-only: nothing is written)."""
    family = families.of_kind(entry.kind)
    if family.evaluate is None:
        raise checkpoints.CheckpointError(f"The {family.label} family has no evaluation.")
    model = family.load_model(entry.path)
    return dict(family.evaluate(model))


def merged_metrics(card: dict) -> dict[str, Any]:
    """A card's held-out metrics with its per-item arrays (``extra_metrics``, kept at the card's
    top level by :func:`train_preset` and inside ``metrics`` by a job's finish) in one dict;
    empty when the card holds none, or holds the numbers of an earlier step (a measurement
    records ``measured_step``; a run resumed after it has moved on)."""
    metrics = dict(card.get("metrics") or {})
    measured = metrics.get("measured_step")
    if measured is not None and card.get("step") is not None and int(measured) != int(
            card["step"]):
        return {}
    extra = {**(card.get("extra_metrics") or {}), **(metrics.get("extra_metrics") or {})}
    if extra:
        metrics["extra_metrics"] = extra
    return metrics


def measure_work(entry: checkpoints.Entry):
    """A background job (see :meth:`unsup.jobs.ThreadRunner.submit_work`) that measures a user
    run on held-out data with its family's evaluation — the same function the training command
    and the page used — and writes the numbers into the run's card (atomically, its weights
    untouched), so they survive a restart. Shipped checkpoints are never written to."""
    if entry.source == "shipped":
        raise ValueError("shipped checkpoints are measured by the command that made them; "
                         "see scripts/refresh_cards.py")
    path, step = entry.path, entry.card.get("step")

    def work(progress, should_stop):
        progress(0.05, "loading the model")
        family = families.of_kind(entry.kind)
        if family.evaluate is None:
            raise checkpoints.CheckpointError(f"The {family.label} family has no evaluation.")
        model = family.load_model(path)
        if should_stop():
            raise InterruptedError
        progress(0.15, "measuring on held-out data")
        t0 = time.perf_counter()
        metrics = dict(family.evaluate(model))
        if should_stop():
            raise InterruptedError
        progress(0.95, "writing the numbers into the run's card")
        metrics["measured_step"] = step
        metrics["measured_seconds"] = round(time.perf_counter() - t0, 1)
        checkpoints.update_card(path, expect_step=step, metrics=metrics)
        return {"path": str(path), "seconds": metrics["measured_seconds"]}

    return work
