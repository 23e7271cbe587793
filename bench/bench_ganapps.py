"""GAN applications (issue 24): speed of the super-resolution section and its training, one
command, about 3 minutes:

    .venv/bin/python bench/bench_ganapps.py

1. the section's first view in a fresh interpreter (AppTest: cold imports and caches, the four
   shipped models loaded, a held-out digit restored three ways, the table and plot from the
   cards): target ≤ 1 s for the script run;
2. restoring one image as the page does (low-res, bicubic, SRResNet, SRGAN), digits and faces:
   p50 / p95 over 30 runs, one torch thread;
3. one training step of each shipped recipe (SRResNet, SRGAN; digits, faces): p50 over 10
   steps, one torch thread, and what the shipped step counts cost at that rate.

Writes bench/results/ganapps.md and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import time

import torch

from common import cold_open, load_average, pct, timeit, write_section

SECTION = "ganapps"
HEADING = "GAN applications: super-resolution (issue 24)"


def main() -> None:
    from unsup import checkpoints, families, paths
    from unsup.recipes import ganapps as R

    torch.set_num_threads(1)
    t_all = time.time()
    load = load_average()
    opened = [cold_open("gan_apps.py") for _ in range(2)]
    first = min(o["first_run"] for o in opened)
    rows = [("first view of the section (fresh interpreter, AppTest script run; best of 2)",
             f"{first:.2f} s", "≤ 1 s", "ok" if first <= 1.0 else "over")]
    for name in ("digits", "faces"):
        models = [checkpoints.load(paths.SHIPPED_DIR / f"sr-{name}-{k}")
                  for k in ("srresnet", "srgan")]
        x = R.heldout_images(name)[:1]
        t = timeit(lambda: [R.restore(m, x) for m in models], 30)
        rows.append((f"restore one {name[:-1]} image (bicubic, SRResNet, SRGAN), p50 / p95",
                     f"{1000 * pct(t, 50):.1f} / {1000 * pct(t, 95):.1f} ms", "", ""))
    for preset in R.PRESETS:
        fam, p = families.of_preset(preset.name)
        model = R.make_model(p.config)
        data = R.train_images(p.data)
        bs = model.batch_size
        i = [0]

        def step():
            idx = torch.arange(bs * i[0], bs * (i[0] + 1)) % len(data)
            i[0] += 1
            model.train_step(data[idx])

        t = timeit(step, 10, warmup=2)
        per = pct(t, 50)
        rows.append((f"one training step of {p.name} (batch {bs}), p50; × its {p.steps:,} "
                     "steps", f"{1000 * per:.0f} ms; {per * p.steps / 60:.1f} min",
                     "≤ 30 min", "ok" if per * p.steps <= 1800 else "over"))
    path = write_section(SECTION, HEADING, rows, notes=(
        f"Load average before the run: {load}. One torch thread throughout (the page's thread "
        "uses one; the shipped models were trained with one). Whole run "
        f"{time.time() - t_all:.0f} s. Rerun: `.venv/bin/python bench/bench_ganapps.py`."))
    import runpy

    runpy.run_path(str(path.parent.parent / "collect.py"))  # bench/RESULTS.md from the sections


if __name__ == "__main__":
    main()
