"""The "your own run" service: what every family's on-demand training needs around its model.

A family's ``training_spec`` says what is particular to it (its config, its model, its data and
preview); this module does the rest the same way for every family:

- :class:`UploadStore`: a run trained on uploaded images keeps them beside its checkpoints, with
  their content hash, so that a resume trains on exactly the same images (and measures on the
  same held-out ones) and refuses when they are gone or changed;
- :func:`split_images`: the held-out split of uploaded images (every 10th);
- :func:`resumed`: what a resume reads from a run's card (its folder, config, data and title);
- :func:`stored_run`: a new run folder holding the uploads (or, on a resume, their hash);
- :func:`build_card` / :func:`load_to_resume`: the card fields of a new run and the model of a
  resumed one, as a job's ``build`` returns them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from unsup import checkpoints, fileio


@dataclass(frozen=True)
class UploadStore:
    """Uploaded image sets kept in a run folder: ``file`` (an ``.npz``) holds ``keys`` (one
    array each) and their hash. ``shapes``: the hash covers each array's shape too (CycleGAN's
    two domains); the one-array stores hash the bytes alone, as runs on disk already do."""

    file: str
    keys: tuple[str, ...] = ("images",)
    shapes: bool = False

    def digest(self, *arrays: np.ndarray) -> str:
        h = hashlib.sha256()
        for x in arrays:
            x = np.ascontiguousarray(x, dtype=np.float32)
            if self.shapes:
                h.update(str(x.shape).encode())
            h.update(x.tobytes())
        return h.hexdigest()[:16]

    def save(self, run_dir: Path, *arrays: np.ndarray) -> str:
        """Write the arrays (atomically) and return their hash."""
        if len(arrays) != len(self.keys):
            raise ValueError(f"{self.file} holds {len(self.keys)} image set(s), got {len(arrays)}")
        digest = self.digest(*arrays)
        buf = io.BytesIO()
        np.savez_compressed(buf, sha=np.array(digest), **{
            k: np.asarray(a, np.float32) for k, a in zip(self.keys, arrays)})
        fileio.atomic_write_bytes(Path(run_dir) / self.file, buf.getvalue())
        return digest

    def load(self, run_dir: Path, digest: str | None) -> tuple[np.ndarray, ...]:
        """The arrays a run was trained on; CheckpointError when they are gone, unreadable or
        no longer the ones the card's hash names."""
        f = Path(run_dir) / self.file
        if not f.exists():
            raise checkpoints.CheckpointError(
                f"The images this run was trained on are gone ({f.parent.name}/{f.name} is "
                "missing), so it cannot be resumed or measured on them. Train a new run on your "
                "images instead.")
        try:
            with np.load(f, allow_pickle=False) as z:
                arrays = tuple(np.asarray(z[k], np.float32) for k in self.keys)
        except (OSError, ValueError, KeyError) as exc:
            raise checkpoints.CheckpointError(
                f"{f.parent.name}/{f.name} cannot be read ({type(exc).__name__}); train a new "
                "run on your images instead.") from None
        if digest and self.digest(*arrays) != digest:
            raise checkpoints.CheckpointError(
                f"{f.parent.name}/{f.name} no longer holds the images this run was trained on "
                "(their hash changed), so it cannot be resumed or measured on them. Train a new "
                "run on your images instead.")
        return arrays


IMAGES = UploadStore("data.npz")
"""One set of uploaded images (VAE, GAN, keypoints)."""


def split_images(images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out): every 10th uploaded image (at least one) is held out."""
    x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    held = torch.zeros(len(x_all), dtype=torch.bool)
    held[::10] = True
    return x_all[~held], x_all[held]


@dataclass(frozen=True)
class Resumed:
    """What a resume reads from a run's card (its weights are loaded by the job itself)."""

    path: Path  # the weights file
    card: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        return self.path.parent

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.card.get("data") or {})

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.card.get("config") or {})

    @property
    def title(self) -> str:
        return f"{self.card.get('title') or self.run_dir.name} (resumed)"


def resumed(path: str | Path | None) -> Resumed | None:
    """The run a Resume continues (None: a new run); CheckpointError when unreadable."""
    if path is None:
        return None
    weights = checkpoints.weights_path(path)
    return Resumed(weights, checkpoints.read_card(weights))


def stored_run(name: str, *arrays: np.ndarray, store: UploadStore = IMAGES,
               resume: Resumed | None = None) -> tuple[Path, str]:
    """(run folder, hash) of uploads: a new run folder named after ``name`` holding them, or,
    on a resume, the resumed run's folder and their hash. The folder is removed again when the
    disk is full."""
    from unsup.jobs import fresh_run_dir

    if resume is not None:
        return resume.run_dir, store.digest(*arrays)
    with fresh_run_dir(name) as run_dir:
        digest = store.save(run_dir, *arrays)
    return run_dir, digest


def upload_card(label: str, digest: str, n_train: int, store: UploadStore = IMAGES,
                **extra: Any) -> dict[str, Any]:
    """The card's ``data`` of a run on uploads (how a resume finds and checks them)."""
    return {"name": "upload", "label": label, "sha": digest, "fingerprint": digest,
            "n_train": int(n_train), "file": store.file, **extra}


def build_card(title: str, data_card: dict[str, Any]) -> dict[str, Any]:
    """The card fields a job's ``build`` returns for a new run made in the app."""
    return {"title": title, "data": data_card, "command": None, "extra": {"origin": "app"}}


def load_to_resume(resume: Resumed, job) -> tuple[Any, dict[str, Any]]:
    """(the resumed run's model with its optimizer state, the card fields its ``build``
    returns: the run's own title, data and seconds so far)."""
    job.phase("loading the checkpoint to resume")
    model = checkpoints.load(resume.path, optimizer=True)
    p = model.card_
    return model, {"title": p.get("title"), "data": p.get("data"),
                   "seconds": p.get("seconds") or 0.0, "command": None,
                   "extra": {"origin": "app", "name": p.get("name")}}


# -- the plan of a run and its job: what every family's training_spec shares -------------------
@dataclass
class Plan:
    """A run the user asked for, before its particulars: new or resumed (``resume``), on built-in
    data (``data``, a name) or on uploads (``data == "upload"``, ``images``: one array per image
    set of ``store``). Made by :func:`plan`; a family adds its config, model, preview and
    measurement and calls :meth:`spec`."""

    resume: Resumed | None
    data: str
    images: tuple[np.ndarray, ...] | None
    label: str | None
    store: UploadStore = IMAGES
    run_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.resume is not None:
            self.run_dir = self.resume.run_dir

    @property
    def config(self) -> dict[str, Any] | None:
        """The resumed run's config (None for a new run)."""
        return None if self.resume is None else self.resume.config

    @property
    def upload(self) -> bool:
        return self.images is not None

    def keep_uploads(self, name: str) -> str:
        """Store the uploads in a new run folder named after ``name`` (on a resume: the run's
        own folder, where they already are) and return their hash."""
        self.run_dir, digest = stored_run(name, *self.images, store=self.store,
                                          resume=self.resume)
        return digest

    def split_upload(self, prefix: str) -> tuple[torch.Tensor, torch.Tensor, str, dict[str, Any]]:
        """One set of uploaded images: (train, held-out: every 10th, label, the card's data),
        kept with the run (see :meth:`keep_uploads`)."""
        images = self.images[0]
        x, x_held = split_images(images)
        label = self.label or f"{len(images)} uploaded images"
        digest = self.keep_uploads(f"{prefix}-{label}")
        return x, x_held, label, upload_card(label, digest, len(x), store=self.store)

    def spec(self, *, title: str, model: Callable[[Any], Any], data: Any = None,
             load: Callable[[], Any] | None = None, reading: str = "reading the data",
             data_card: dict[str, Any] | Callable[[Any], dict[str, Any]],
             steps: int, page: str, again: Callable[[Path, float], Any], owner: str = "",
             unit: str = "steps", checkpoint_every: int = 500,
             preview: Callable | None = None, finish: Callable | None = None,
             fed: Callable[[Any, Any], Any] | None = None,
             resumed: Callable[[Any, int], None] | None = None):
        """The job (:class:`unsup.jobs.JobSpec`): ``data``, or ``load()`` read inside the job
        (shown as ``reading``; ``load(job)`` when it takes an argument, to call ``job.check()``
        and ``job.phase()`` along a long read); ``model(data)`` a new model (a resume loads the run's model with
        its optimizer state instead, then ``resumed(model, steps)`` may adjust it);
        ``fed(model, data)`` what ``fit`` trains on (default: the data; shown as ``reading``
        when there is no ``load``); ``title`` and
        ``data_card`` (or ``data_card(data)``) go into a new run's card; ``again(path, more)``
        is the family's ``training_spec`` for a later Resume."""
        from unsup.jobs import NO_JOB, JobSpec

        prev = self.resume

        def build(job=NO_JOB):
            x = data
            if load is not None:
                job.phase(reading)
                # a long read may take the job to check for Stop and show its progress
                x = load(job) if _takes_job(load) else load()
            if prev is not None:
                m, card = load_to_resume(prev, job)
                if resumed is not None:
                    resumed(m, int(steps))
            else:
                job.phase("building the model")
                m = model(x)
                card = build_card(title, data_card(x) if callable(data_card) else data_card)
            if fed is not None:
                if load is None:
                    job.phase(reading)
                x = fed(m, x)
            return m, x, card

        return JobSpec(title=prev.title if prev is not None else title, build=build,
                       steps=int(steps), preview=preview, owner=owner, run_dir=self.run_dir,
                       checkpoint_every=int(checkpoint_every), finish=finish, page=page,
                       resume=again, resume_unit=unit)


def _takes_job(fn: Callable) -> bool:
    import inspect

    try:
        return len(inspect.signature(fn).parameters) > 0
    except (TypeError, ValueError):
        return False


def plan(resume: str | Path | None = None, *, data: str, images=None, label: str | None = None,
         store: UploadStore = IMAGES, check: Callable[..., None] | None = None) -> Plan:
    """The run a ``training_spec`` is asked for: ``resume`` (a user run's weights: its data and
    uploads come from its card and folder, CheckpointError when they are gone or changed), else
    built-in ``data`` or the user's ``images`` (an array, or a tuple of arrays for a store of
    several sets), with their ``label``. ``check(*images)`` validates uploads (ValueError)."""
    prev = resumed(resume)
    if prev is not None:
        name = prev.data.get("name")
        if name == "upload":
            images = store.load(prev.run_dir, prev.data.get("sha"))
            label = prev.data.get("label")
        else:
            data, images = name or data, None
    elif images is not None:
        images = tuple(np.asarray(a, np.float32) for a in (
            images if isinstance(images, (tuple, list)) else (images,)))
    if images is not None and check is not None:
        check(*images)
    return Plan(prev, "upload" if images is not None else data, images, label, store)
