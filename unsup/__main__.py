"""Command line: ``python -m unsup train|list|eval|presets|bench``.

    python -m unsup train <preset> [--steps N] [--out DIR] [--device cpu|cuda]
                                                             train a preset into a run folder
    python -m unsup train <preset> --out checkpoints        rebuild a shipped checkpoint in place
    python -m unsup list [--json]                           shipped and user models + metrics
    python -m unsup eval <name> [--json]                    recompute metrics on held-out data
    python -m unsup presets                                 every preset with one line each
    python -m unsup bench [names...]                        run bench/bench_*.py

Every family comes from the one registry (unsup.families). ``train`` under
``torchrun --nproc_per_node N`` trains data-parallel (NCCL on GPUs, gloo on CPUs); rank 0 writes.
``eval`` only prints: it never writes to a checkpoint.

``train`` writes into a folder of the user's runs (``cli-<preset>`` under ``$UNSUP_RUNS_DIR`` or
``~/.unsup/runs``; rerun, it continues an unfinished run there, and never replaces a finished one)
unless ``--out`` names another folder; the shipped ``checkpoints/`` folder is written only when
named (``--out checkpoints``, the command every shipped card records). A mistake (an unknown
preset, ``--steps 0``, a GPU this machine lacks, a folder it cannot write) is one line on stderr
and a nonzero exit code, never a traceback (``UNSUP_DEBUG=1`` shows one for unexpected errors).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def _headline(entry, keys) -> str:
    metrics = entry.card.get("metrics", {}) or {}
    parts = [f"{k}={metrics[k]:.4g}" if isinstance(metrics[k], float) else f"{k}={metrics[k]}"
             for k in keys if k in metrics]
    return ", ".join(parts) if parts else "-"


def _family_keys(kind: str) -> tuple[str, ...]:
    from unsup import families

    try:
        return families.of_kind(kind).headline
    except KeyError:
        return ()


def cmd_list(args) -> int:
    from unsup.checkpoints import list_models

    entries = list_models(broken=True)
    if args.json:
        print(json.dumps([{"name": e.name, "source": e.source, "kind": e.kind, "title": e.title,
                           "path": str(e.path), "step": e.card.get("step"),
                           "metrics": e.card.get("metrics", {}),
                           "command": e.card.get("command"), "problem": e.problem}
                          for e in entries], indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("no models")
    for e in entries:
        tail = (f"BROKEN: {e.problem}" if e.problem else
                _headline(e, _family_keys(e.kind)))
        print(f"{e.source:8s} {e.name:32s} {e.kind:18s} step {e.card.get('step', '?'):>6}  "
              f"{tail}")
    return 0


def evaluate_name(name: str) -> dict:
    """Recompute the metrics of the listed model ``name`` (nothing is written)."""
    from unsup import checkpoints, recipes

    return recipes.evaluate_entry(checkpoints.find(name))


def cmd_eval(args) -> int:
    from unsup.checkpoints import CheckpointError

    try:
        metrics = evaluate_name(args.name)
    except (CheckpointError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    metrics.pop("extra_metrics", None)
    if args.json:
        print(json.dumps({"name": args.name, "metrics": metrics}, indent=2, ensure_ascii=False,
                         default=str))
    else:
        for k, v in metrics.items():
            print(f"{k:28s} {v}")
    return 0


def _init_distributed(device: str | None) -> str | None:
    """Under torchrun (WORLD_SIZE > 1): join the process group, NCCL on GPUs, gloo on CPUs,
    and return the device this rank trains on."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    import torch
    import torch.distributed as dist

    gpu = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    dist.init_process_group("nccl" if gpu else "gloo")
    if gpu:
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return "cpu"


def positive_steps(text: str) -> int:
    """``--steps``: a whole number of at least 1 (argparse reports anything else in one line)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of steps") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} steps trains nothing; give at least 1")
    return n


def check_device(device: str | None) -> str | None:
    """Why ``--device`` cannot be used on this machine (None: it can)."""
    if device is None:
        return None
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        return f"--device {device!r} is not a device; use cpu, cuda or cuda:N"
    if dev.type == "cpu":
        return None
    if dev.type != "cuda":
        return f"--device {device!r}: this command trains on cpu, cuda or cuda:N"
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        return f"--device {device}: this machine has no usable CUDA GPU; use --device cpu"
    if dev.index is not None and dev.index >= n:
        return (f"--device {device}: this machine has {n} GPU(s), cuda:0 to cuda:{n - 1}")
    return None


def shipped_out(out: str | Path) -> bool:
    """True when ``out`` is the shipped ``checkpoints/`` folder itself."""
    from unsup import paths

    return Path(out).expanduser().resolve() == paths.SHIPPED_DIR.resolve()


def default_out(preset: str) -> Path:
    """The user run folder ``cli-<preset>`` (then ``-2``, ``-3``...): the first that is new,
    empty, or holds an unfinished run to continue (its optimizer state); a finished run of an
    earlier command is never written over."""
    from unsup import paths

    base = paths.runs_dir() / f"cli-{preset}"
    for i in range(1, 10_000):
        folder = base if i == 1 else base.with_name(f"{base.name}-{i}")
        if not folder.exists() or not any(folder.iterdir()) or any(folder.glob("*.optim*.pt")):
            return folder
    raise OSError(f"no free run folder named {base.name}-N under {base.parent}")


def check_writable(folder: Path) -> str | None:
    """Why nothing can be written into ``folder`` (None: a probe file could be written)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".unsup-probe-"):
            pass
    except OSError as exc:
        return f"cannot write into {folder}: {exc.strerror or exc}"
    return None


def cmd_train(args) -> int:
    from unsup import families, paths, recipes

    try:
        families.of_preset(args.preset)
    except KeyError:
        print(f"error: unknown preset {args.preset!r}; try `python -m unsup presets`",
              file=sys.stderr)
        return 2
    problem = check_device(args.device)
    if args.out is None:
        out_dir, where = default_out(args.preset), "run"
    elif shipped_out(args.out):
        out_dir, where = None, "shipped"  # the family's shipped place (atlases: checkpoints/atlas)
    else:
        out_dir, where = Path(args.out).expanduser(), "folder"
    problem = problem or check_writable(paths.SHIPPED_DIR if out_dir is None else out_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    device = _init_distributed(args.device)
    try:
        path = recipes.train_preset(args.preset, steps=args.steps, device=device,
                                    out_dir=out_dir)
    finally:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"wrote {path}")
        if where == "run":
            print("a run of your own (`python -m unsup list` shows it); "
                  "`--out checkpoints` rebuilds the shipped checkpoint in place")
    return 0


def cmd_presets(args) -> int:
    from unsup import families

    for family, preset in families.presets():
        print(f"{preset.name:24s} {family.name:11s} {preset.title}. {preset.description}")
    return 0


def cmd_bench(args) -> int:
    """Run each registered family's bench scripts (or those of the families / scripts named)."""
    from unsup import families

    root = Path(__file__).resolve().parent.parent
    fams = families.families()
    wanted = set(args.names)
    names = [s for f in fams if not wanted or f.name in wanted for s in f.bench]
    names += [n for n in wanted if n.endswith(".py")]
    unknown = wanted - {f.name for f in fams} - {n for n in wanted if n.endswith(".py")}
    if unknown:
        print(f"error: no family {sorted(unknown)}; families: {[f.name for f in fams]}",
              file=sys.stderr)
        return 2
    scripts = [root / "bench" / n for n in dict.fromkeys(names)]
    rc = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        rc |= subprocess.call([sys.executable, str(script)], cwd=root)
    subprocess.call([sys.executable, str(root / "bench" / "collect.py")], cwd=root)
    return rc


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported in one line (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} -h`)\n")


def describe(exc: BaseException) -> str:
    """One line for an error the CLI did not foresee: what failed, never a traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {text}" if len(text) < 400 else (
        f"{type(exc).__name__}: {text[:400]}…")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m unsup", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    p = sub.add_parser("train", help="train a preset into a run folder, or (--out checkpoints) "
                                     "rebuild a shipped checkpoint in place")
    p.add_argument("preset")
    p.add_argument("--steps", type=positive_steps, default=None,
                   help="override the preset's step count (at least 1)")
    p.add_argument("--out", default=None,
                   help="folder to write to (default: a run folder cli-<preset> of your own; "
                        "`checkpoints` replaces the shipped checkpoint)")
    p.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: a GPU when present)")
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("list", help="shipped and user models with their metrics")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser("eval", help="recompute a model's metrics on held-out data (read-only)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_eval)
    p = sub.add_parser("presets", help="list the presets")
    p.set_defaults(fn=cmd_presets)
    p = sub.add_parser("bench", help="run the benchmarks (all families', or those named) and "
                                     "rewrite bench/RESULTS.md")
    p.add_argument("names", nargs="*")
    p.set_defaults(fn=cmd_bench)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a CLI reports, in one line, what went wrong
        if os.environ.get("UNSUP_DEBUG"):
            raise
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
