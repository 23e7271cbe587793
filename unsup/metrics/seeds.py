"""Sampled metrics over several seeds: one number from one draw of random samples says little
about how far the next draw would move it, so every metric computed from random samples (a
GAN's Fréchet distance, KID, precision/recall, modes, digit shares...) is measured once per seed
and reported as the mean with its spread.

The card layout (a metrics dict): each sampled key holds the **mean** over the seeds (the name
and meaning a single-seed card had, so every reader keeps working), ``seeds`` lists the seeds and
``per_seed`` maps each sampled key to its values, one per seed, from which the spread (standard
deviation, min–max) is derived — :func:`spread` and :func:`spread_text` do that.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def _mean(values: Sequence[float], digits: int | None) -> float | int:
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values) \
            and len(set(values)) == 1:
        return int(values[0])  # a count every seed agrees on stays a count
    m = float(np.mean(values))
    return round(m, digits) if digits is not None else m


def combine(runs: Sequence[dict[str, Any]], seeds: Sequence[int], keys: Sequence[str], *,
            digits: dict[str, int] | None = None,
            extra_keys: Sequence[str] = ()) -> dict[str, Any]:
    """One metrics dict from ``runs`` (the metrics of each seed, in the order of ``seeds``).

    Keys in ``keys`` become the mean over the runs (rounded to ``digits[key]`` places where
    given) and their per-seed values go to ``per_seed``; every other key is taken from the first
    run (numbers that do not depend on the seed: sample counts, the real-data floor). Lists
    named in ``extra_keys`` inside ``extra_metrics`` are averaged element-wise.
    """
    if not runs or len(runs) != len(seeds):
        raise ValueError(f"{len(runs)} runs for {len(seeds)} seeds")
    digits = digits or {}
    out = dict(runs[0])
    per = {k: [r[k] for r in runs] for k in keys}
    for k in keys:
        out[k] = _mean(per[k], digits.get(k))
    out["seeds"] = [int(s) for s in seeds]
    out["per_seed"] = per
    if extra_keys and "extra_metrics" in runs[0] and len(runs) > 1:
        extra = dict(runs[0]["extra_metrics"])
        for k in extra_keys:
            arr = np.mean([r["extra_metrics"][k] for r in runs], axis=0)
            extra[k] = [round(float(v), 5) for v in arr]
        out["extra_metrics"] = extra
    return out


def spread(metrics: dict[str, Any], key: str) -> dict[str, float] | None:
    """Mean, standard deviation (over seeds, ddof = 1), min, max and n of a sampled metric of a
    card, or None when the card holds one draw only (an older card, or no ``per_seed``)."""
    values = (metrics.get("per_seed") or {}).get(key)
    if not values or len(values) < 2:
        return None
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "min": float(v.min()),
            "max": float(v.max()), "n": int(len(v))}


def spread_text(metrics: dict[str, Any], key: str, fmt: str = "{:.1f}", *,
                scale: float = 1.0, unit: str = "", seeds_word: bool = True) -> str:
    """"mean ± sd (n seeds)" of a sampled card metric, each number through ``fmt`` after
    multiplying by ``scale`` (e.g. 100 for a share shown in %), ``unit`` after each; just the
    value when the card has one draw only."""
    s = spread(metrics, key)
    if s is None:
        v = metrics.get(key)
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) \
            else fmt.format(v * scale) + unit
    text = f"{fmt.format(s['mean'] * scale)}{unit} ± {fmt.format(s['std'] * scale)}{unit}"
    return text + (f" ({s['n']} seeds)" if seeds_word else "")
