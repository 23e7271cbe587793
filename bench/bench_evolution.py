"""Flappy Bird by evolution (issue 26, part 1): the game's speed, the learners' step rates and
the shipped runs, one command, about 2 minutes:

    .venv/bin/python bench/bench_evolution.py

1. the first view of the page's Flappy Bird and "Play it yourself" sections (AppTest, a fresh
   process with the launcher's warm-up imports done, every cache cold): target ≤ 1 s;
2. the simulator: game frames a second of this project's NumPy game (128 birds at once, each
   with its own 7-8-1 network) against flappy-bird-gymnasium 0.4.0 stepping one bird per call
   with the same network (when a Python with that package is found: ``FLAPPY_GYM_PYTHON``, else
   ``/tmp/fbvenv/bin/python``; it is not a dependency of the project);
3. generations a second of the genetic algorithm, population 128, on the page's default level:
   a new population (birds crash within a pipe or two) and one that flies (the shipped elite,
   mutated: every generation lasts as long as its birds): target ≥ 2 a second;
4. the shipped runs, from their cards: the held-out median of each learner at the same game
   frames, and the GA's training time to its target (its first milestone at ≥ 50 pipes);
5. the shipped files' sizes.

Writes bench/results/evolution.md and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from common import cold_section, load_average, write_section

SECTION = "evolution"
HEADING = "Flappy Bird by evolution (issue 26, part 1)"

GYM_SCRIPT = r"""
import os, time, json, numpy as np
os.environ["SDL_VIDEODRIVER"] = "dummy"
import gymnasium, flappy_bird_gymnasium
env = gymnasium.make("FlappyBird-v0", use_lidar=False, render_mode=None)
rng = np.random.default_rng(0)
W1 = rng.standard_normal((12, 8)) / np.sqrt(12); w2 = rng.standard_normal(8) / np.sqrt(8)
for with_net in (False, True):
    obs, _ = env.reset(seed=0); n = 0; t0 = time.perf_counter()
    while time.perf_counter() - t0 < 3:
        a = int(np.tanh(obs @ W1) @ w2 > 0) if with_net else 0
        obs, r, term, trunc, info = env.step(a); n += 1
        if term: obs, _ = env.reset(seed=n)
    print(json.dumps({"net": with_net, "fps": n / (time.perf_counter() - t0)}))
"""


def gym_speed() -> dict | None:
    py = os.environ.get("FLAPPY_GYM_PYTHON", "/tmp/fbvenv/bin/python")
    if not Path(py).exists():
        return None
    try:
        out = subprocess.run([py, "-c", GYM_SCRIPT], capture_output=True, text=True,
                             timeout=120, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    except (subprocess.SubprocessError, OSError):
        return None
    rows = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    return {("net" if r["net"] else "idle"): r["fps"] for r in rows}


def numpy_speed(theta: np.ndarray, level: str, seconds: float = 3.0) -> float:
    """Game frames a second of our simulator: 128 birds, each its own network, until the time
    is up (games restart on new seeds)."""
    from unsup.envs import flappy as E

    d = E.DIFFICULTIES[level]
    frames, t0, k = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        ep = E.play(d, np.arange(128) + 128 * k, E.greedy(theta, 8), max_frames=2_000)
        frames += ep.total_frames
        k += 1
    return frames / (time.perf_counter() - t0)


def main() -> None:
    from unsup import checkpoints, paths
    from unsup.envs import flappy as E
    from unsup.recipes import evolution as R

    torch.set_num_threads(1)
    t_all = time.time()
    load = load_average()
    rows = []
    for section in ("Flappy Bird by evolution", "Play it yourself"):
        runs = [cold_section("evolution.py", "evo_section", section) for _ in range(3)]
        rows.append((f"first view of the {section} section: a fresh process with the "
                     "launcher's warm-up imports done, cards read from disk, every cache cold "
                     "(AppTest script run; best / worst of 3)",
                     f"{min(runs):.2f} / {max(runs):.2f} s", "≤ 1 s",
                     "ok" if min(runs) <= 1.0 else "over"))
    cards = R.shipped_cards()
    ga_theta = np.asarray(R.card_extra(cards[R.KIND_GA])["policy"]) if R.KIND_GA in cards \
        else None
    rng = np.random.default_rng(0)
    pop = E.init_params(rng, 128, 8)
    for name, theta, level in (("random networks", pop, R.LEVEL),
                               ("the shipped GA elite's mutants",
                                None if ga_theta is None else
                                ga_theta + 0.02 * rng.standard_normal((128, len(ga_theta))),
                                R.LEVEL)):
        if theta is None:
            continue
        fps = numpy_speed(theta, level)
        rows.append((f"our NumPy game, 128 birds at once, each its own 7-8-1 network ({name})",
                     f"{fps / 1e6:.2f} M frames/s", "", ""))
    gym = gym_speed()
    if gym:
        rows.append(("flappy-bird-gymnasium 0.4.0, one bird per call (headless; no policy / a "
                     "7-8-1-sized network on its 12 features)",
                     f"{gym['idle'] / 1e3:.0f} k / {gym['net'] / 1e3:.0f} k frames/s", "", ""))
    else:
        rows.append(("flappy-bird-gymnasium 0.4.0", "not installed beside this bench", "", ""))
    for label, kind in (("a new population", R.KIND_GA), ("a population that flies", None)):
        if kind is None and ga_theta is None:
            continue
        if kind is None:
            per = R.estimate_step_seconds(R.KIND_GA, R.LEVEL, 128, n=5)
        else:
            m = R.new_learner(R.KIND_GA, **R.job_config(R.KIND_GA, R.LEVEL, 128))
            t0 = time.perf_counter()
            for i in range(10):
                m.rng.manual_seed(i)
                m.train_step(torch.zeros(1, 1))
                m.step_ += 1
            per = (time.perf_counter() - t0) / 10
        rows.append((f"GA generations a second, population 128, '{R.LEVEL}' level, one thread "
                     f"({label})", f"{1 / per:.1f} /s ({1000 * per:.0f} ms each)", "≥ 2 /s",
                     "ok" if per <= 0.5 else "below"))
    for kind in R.KINDS:
        card = cards.get(kind)
        if card is None:
            continue
        m = card.get("metrics") or {}
        marks = sorted((card.get("milestones") or {}).values(), key=lambda x: x["step"])
        hit = next((x for x in marks if x["median"] >= R.TARGET_PIPES), None)
        extra = (f"; first milestone at ≥ {R.TARGET_PIPES}: step {hit['step']}, "
                 f"{hit['mframes']:.1f} M frames, {hit['seconds'] / 60:.1f} min" if hit else "")
        rows.append((f"{R.PRESET_OF[kind]}: held-out median (mean) pipes over 20 unseen seeds, "
                     f"after {m.get('mframes')} M game frames and {m.get('steps_used')} steps "
                     f"in {float(card.get('seconds') or 0) / 60:.1f} min on "
                     f"{card.get('threads', '?')} thread(s){extra}",
                     f"{m.get('pipes_median'):g} ({m.get('pipes_mean')})",
                     f"≥ {R.TARGET_PIPES} within 10 min" if kind == R.KIND_GA else "",
                     ("ok" if m.get("pipes_median", 0) >= R.TARGET_PIPES and hit
                      and hit["seconds"] <= 600 else "not met") if kind == R.KIND_GA else ""))
    size = sum(checkpoints.weights_path(paths.SHIPPED_DIR / n).stat().st_size
               + (paths.SHIPPED_DIR / f"{n}.json").stat().st_size
               for n in R.PRESET_OF.values()
               if checkpoints.weights_path(paths.SHIPPED_DIR / n).exists())
    rows.append(("shipped Flappy Bird files (weights + cards, all three)", f"{size / 1e3:.0f} kB",
                 "≪ 1 MB", "ok" if size < 1e6 else "over"))
    path = write_section(SECTION, HEADING, rows, notes=(
        f"Load average before the run: {load}. One thread. A generation's cost grows with how "
        f"long its birds fly (up to the training cap of {R.GA_MAX_FRAMES:,} frames each), hence "
        "the two rates; the shipped runs' minutes are from their cards (trained one after the "
        "other while other jobs shared the cores). "
        f"Whole run {time.time() - t_all:.0f} s. Rerun: "
        "`.venv/bin/python bench/bench_evolution.py`."))
    import runpy

    runpy.run_path(str(path.parent.parent / "collect.py"))


if __name__ == "__main__":
    main()
