"""Speed of the CycleGAN page (issue 15, part 5), on the machine it runs on (meant: 2 CPU cores).

1. translating one 32-px image A → B (the shipped ``cyclegan-digits``, else an untrained model
   of the same config), p50/p95 over 200 calls; target <= 50 ms; and what the Translate
   section computes for one image (translation, cycle, identity: four generator passes);
2. one training step of each shipped preset (16 unpaired pairs at 32 px; a classifier step of
   64 images), at 1 thread and at 2, and the preset's whole training time, steps x step time;
   target <= 30 minutes on 2 cores; also one step at 64 px (the page trains at 64 px too);
3. the page's first render in a fresh interpreter (cold imports), Translate section; target
   <= 3 s.

Usage: python bench/bench_cyclegan.py. Step times depend on what else the cores run: the load
average before the run is written with the results.
"""

from __future__ import annotations

import time

from common import cold_open, pct, timeit, write_section

import numpy as np  # noqa: E402
import torch  # noqa: E402

from unsup import checkpoints, paths  # noqa: E402
from unsup.models.domain_classifier import DomainClassifier, DomainClassifierConfig  # noqa: E402
from unsup.recipes import cyclegan as R  # noqa: E402


def digits_model():
    path = paths.SHIPPED_DIR / "cyclegan-digits"
    if checkpoints.weights_path(path).exists():
        return checkpoints.load(path), "shipped cyclegan-digits"
    return R.new_cyclegan(R.load_pair("digits"), **R.RECIPE), "untrained model of the preset"


def latency(model, pair) -> dict:
    rng = np.random.default_rng(0)
    x = torch.tensor(pair.a_test)

    def one():
        i = int(rng.integers(len(x)))
        model.translate_ab(x[i:i + 1])

    def section():
        i = int(rng.integers(len(x)))
        R.translate_all(model, pair.a_test[i:i + 1], "a")

    t = timeit(one, 200, warmup=10)
    s = timeit(section, 50, warmup=5)
    return {"p50": pct(t, 50), "p95": pct(t, 95), "section_p50": pct(s, 50)}


def step_time(config: dict, threads: int, n: int = 10) -> float:
    torch.set_num_threads(threads)
    return R.estimate_step_seconds(config, n=n)


def classifier_step(threads: int, n: int = 20) -> float:
    torch.set_num_threads(threads)
    pair = R.load_pair("digits")
    c = DomainClassifier(DomainClassifierConfig(width=32))
    batch = c.pack(torch.tensor(pair.b_train[:64]), torch.tensor(pair.y_b_train[:64]))
    for _ in range(3):
        c.train_step(batch)
    t0 = time.perf_counter()
    for _ in range(n):
        c.train_step(batch)
    return (time.perf_counter() - t0) / n



def main() -> None:
    torch.set_num_threads(1)
    rows = []
    model, which = digits_model()
    pair = R.load_pair("digits")
    lat = latency(model, pair)
    rows.append((f"translate one 32-px image A → B ({which}, 1 thread), p50 / p95",
                 f"{lat['p50'] * 1e3:.1f} / {lat['p95'] * 1e3:.1f} ms", "≤ 50 ms",
                 "ok" if lat["p95"] <= 0.05 else "over"))
    rows.append(("Translate section for one image (translation, cycle, identity), p50",
                 f"{lat['section_p50'] * 1e3:.1f} ms", "", ""))
    for preset in R.PRESETS:
        if preset.kind != "cyclegan":
            continue
        cfg = dict(preset.config, image_size=32)
        steps_s = {1: step_time(cfg, 1, n=10), 2: step_time(cfg, 2, n=3)}
        best = min(steps_s.values())
        minutes = best * preset.steps / 60
        recorded = ""
        card = paths.SHIPPED_DIR / preset.name
        if checkpoints.weights_path(card).exists():
            c = checkpoints.read_card(checkpoints.weights_path(card))
            recorded = (f"; card: {float(c.get('seconds') or 0) / 60:.1f} min on "
                        f"{(c.get('extra') or {}).get('threads', c.get('threads', '?'))} thread(s), "
                        "cores shared")
        rows.append((f"train {preset.name} ({cfg['norm']} norm): {preset.steps:,} steps × step "
                     f"time (1 thread {steps_s[1]:.2f} s, 2 threads {steps_s[2]:.2f} s; the "
                     "faster)", f"{best:.2f} s × {preset.steps:,} = {minutes:.1f} min{recorded}",
                     "≤ 30 min", "ok" if minutes <= 30 else "over"))
    clf = {1: classifier_step(1), 2: classifier_step(2, n=5)}
    best = min(clf.values())
    rows.append((f"train each domain classifier: {R.CLF_STEPS:,} steps × step time (1 thread "
                 f"{clf[1] * 1e3:.0f} ms, 2 threads {clf[2] * 1e3:.0f} ms)",
                 f"{best * R.CLF_STEPS / 60:.1f} min", "", ""))
    torch.set_num_threads(1)
    s64 = R.estimate_step_seconds(dict(R.RECIPE, image_size=64), n=3)
    rows.append(("one training step at 64 px (16 filters, 3 blocks, 1 thread; the page offers "
                 "64 px for uploads)", f"{s64:.2f} s", "", ""))
    cold = cold_open("cyclegan.py")
    total = cold["import_streamlit"] + cold["first_run"]
    rows.append(("page open, cold (fresh interpreter: import streamlit + first run of "
                 "Translate)", f"{total:.2f} s ({cold['first_run']:.2f} s first run)", "≤ 3 s",
                 "ok" if total <= 3 else "over"))
    notes = ("Step times are measured on random images of the preset's config after a warm-up "
             "step; with other trainings on the same cores both thread counts slow down (two "
             "threads most). The training-time rows multiply the faster of the two by the "
             "preset's steps; a preset's card records what its real run took. "
             "`python bench/bench_cyclegan.py`")
    write_section("cyclegan", "CycleGAN page (issue 15)", rows, notes)


if __name__ == "__main__":
    main()
