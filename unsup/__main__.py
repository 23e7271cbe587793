"""Command line: ``python -m unsup train|list|eval|presets|bench``.

    python -m unsup train <preset> [--steps N] [--out DIR] [--device cpu|cuda]
                                                             rebuild a shipped checkpoint
    python -m unsup list [--json]                           shipped and user models + metrics
    python -m unsup eval <name> [--json]                    recompute metrics on held-out data
    python -m unsup presets                                 every preset with one line each
    python -m unsup bench [names...]                        run bench/bench_*.py

Every family comes from the one registry (unsup.families). ``train`` under
``torchrun --nproc_per_node N`` trains data-parallel (NCCL on GPUs, gloo on CPUs); rank 0 writes.
``eval`` only prints: it never writes to a checkpoint.
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


def cmd_train(args) -> int:
    from unsup import families, recipes

    try:
        families.of_preset(args.preset)
    except KeyError:
        print(f"error: unknown preset {args.preset!r}; try `python -m unsup presets`",
              file=sys.stderr)
        return 2
    device = _init_distributed(args.device)
    try:
        path = recipes.train_preset(args.preset, steps=args.steps, device=device,
                                    out_dir=Path(args.out) if args.out else None)
    finally:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"wrote {path}")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unsup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train", help="train a preset (rebuilds a shipped checkpoint)")
    p.add_argument("preset")
    p.add_argument("--steps", type=int, default=None, help="override the preset's step count")
    p.add_argument("--out", default=None, help="folder to write to (default: checkpoints/)")
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
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
