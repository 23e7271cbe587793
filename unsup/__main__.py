"""Command line: ``python -m unsup train|list|eval|bench``.

    python -m unsup train <preset> [--steps N] [--out DIR]   rebuild a shipped checkpoint
    python -m unsup list [--json]                           shipped and user models + metrics
    python -m unsup eval <name> [--json]                    recompute metrics on held-out data
    python -m unsup presets                                 every preset with one line each
    python -m unsup bench [names...]                        run bench/bench_*.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HEADLINE = ("test_neg_elbo_nats", "test_recon_nats", "test_iwae_nll_nats", "active_units",
            "test_accuracy", "manifold_distinct_digits",
            "recovery_cosine", "npmi_heldout", "perplexity_heldout", "mig", "beta_vae")


def _headline(metrics: dict) -> str:
    parts = [f"{k}={metrics[k]:.4g}" if isinstance(metrics[k], float) else f"{k}={metrics[k]}"
             for k in HEADLINE if k in metrics]
    return ", ".join(parts) if parts else "-"


def cmd_list(args) -> int:
    from unsup.checkpoints import list_models

    entries = list_models()
    if args.json:
        print(json.dumps([{"name": e.name, "source": e.source, "kind": e.kind, "title": e.title,
                           "path": str(e.path), "step": e.card.get("step"),
                           "metrics": e.card.get("metrics", {}),
                           "command": e.card.get("command")} for e in entries], indent=2,
                         ensure_ascii=False))
        return 0
    if not entries:
        print("no models")
    for e in entries:
        print(f"{e.source:8s} {e.name:32s} {e.kind:18s} step {e.card.get('step', '?'):>6}  "
              f"{_headline(e.card.get('metrics', {}))}")
    return 0


def evaluate_name(name: str) -> dict:
    from unsup import checkpoints, presets

    entry = checkpoints.find(name)
    family = presets.family_of(name) or presets.family_of(entry.card.get("preset") or "")
    if family is None and entry.kind in presets.FAMILY_KINDS:
        family = presets.family_of(presets.FAMILY_KINDS[entry.kind])
    if family is not None and hasattr(family, "evaluate_entry"):
        return family.evaluate_entry(entry.path)
    model = checkpoints.load(entry.path)
    return presets.evaluate_model(model, entry.card.get("data", {}).get("name") or "mnist")


def cmd_eval(args) -> int:
    from unsup.checkpoints import CheckpointError

    try:
        metrics = evaluate_name(args.name)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"name": args.name, "metrics": metrics}, indent=2, ensure_ascii=False))
    else:
        for k, v in metrics.items():
            print(f"{k:28s} {v}")
    return 0


def cmd_train(args) -> int:
    from unsup import presets

    if args.preset not in presets.all_presets():
        print(f"error: unknown preset {args.preset!r}; try `python -m unsup presets`",
              file=sys.stderr)
        return 2

    def progress(p):
        losses = " ".join(f"{k} {v:.3f}" for k, v in p.losses.items())
        print(f"step {p.step}/{p.total}  {p.seconds:6.1f}s  {losses}", flush=True)

    kwargs = {"steps": args.steps, "out_dir": Path(args.out) if args.out else None}
    if presets.family_of(args.preset) is None:
        kwargs["on_progress"] = progress
    path = presets.train_preset(args.preset, **kwargs)
    print(f"wrote {path}")
    return 0


def cmd_presets(args) -> int:
    from unsup import presets

    for name, desc in presets.all_presets().items():
        print(f"{name:24s} {desc}")
    return 0


def cmd_bench(args) -> int:
    root = Path(__file__).resolve().parent.parent
    scripts = sorted((root / "bench").glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if any(n in s.stem for n in args.names)]
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
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("list", help="shipped and user models with their metrics")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser("eval", help="recompute a model's metrics on held-out data")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_eval)
    p = sub.add_parser("presets", help="list the presets")
    p.set_defaults(fn=cmd_presets)
    p = sub.add_parser("bench", help="run the benchmarks and rewrite bench/RESULTS.md")
    p.add_argument("names", nargs="*")
    p.set_defaults(fn=cmd_bench)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
