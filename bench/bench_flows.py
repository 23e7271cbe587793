"""Normalizing flows (issue 23): speed of the 2-D flows and the page's Glow job, one command,
about 8 minutes:

    .venv/bin/python bench/bench_flows.py

1. one training step of the shipped recipe (batch 512, 6 spline transforms): p50 / p95, and
   steps a second over 300 steps of `fit`, one torch thread;
2. the page's view of a shipped flow (96×96 density lattice, 1,000 samples, the base grid
   through every transform) and the job's preview (64×64 lattice, 500 samples): p50 / p95;
3. the held-out evaluation the card stores (3 seeds × 5,000 points + 2,500 samples);
4. a training job as the page starts it (2,000 steps, preview every second): steps a second
   while its live density preview redraws (target ≥ 20 steps/s with the heat-map redrawing);
5. the page's default Glow job (the shipped architecture, 1,000 steps on the MNIST digits, as
   its Train section starts it, measured at the end on the 500 held-out digits): wall time and
   held-out bits/dim (target ≤ 1.6 bits/dim within 10 minutes).

Writes bench/results/flows.md and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import time

import torch

from common import load_average, pct, timeit, write_section

SECTION = "flows"
HEADING = "Normalizing flows (issue 23)"


def main() -> None:
    from unsup import checkpoints, paths
    from unsup.jobs import ThreadRunner
    from unsup.recipes import flows as F
    from unsup.train import fit

    torch.set_num_threads(1)
    t_all = time.time()
    load = load_average()
    data = F.data_2d("ring")
    model = F.make_model(data, **F.RECIPE)
    bs = model.batch_size
    batch = [data[torch.arange(bs * i, bs * (i + 1))] for i in range(40)]
    it = iter(range(10**9))
    step = timeit(lambda: model.train_step(batch[next(it) % 40]), 40, warmup=5)
    model2 = F.make_model(data, **F.RECIPE)
    t0 = time.perf_counter()
    fit(model2, data, steps=300, device="cpu", log_every=300)
    fit_rate = 300 / (time.perf_counter() - t0)
    shipped = checkpoints.load(paths.SHIPPED_DIR / "flow-ring")
    view = timeit(lambda: F.view(shipped, data), 10, warmup=1)
    prev = timeit(lambda: F.view(shipped, data, grid=64, n_samples=500), 10, warmup=1)
    t0 = time.perf_counter()
    F.evaluate(shipped, data)
    evaluate_s = time.perf_counter() - t0

    runner = ThreadRunner()
    spec = F.training_spec(steps=2_000)
    spec.finish = None
    job = runner.submit(spec)
    seen, marks = set(), []
    while True:
        snap = runner.get(job)
        if snap.previews and id(snap.previews[0]) not in seen:
            seen.add(id(snap.previews[0]))
            marks.append((time.perf_counter(), snap.step))
        if snap.status in ("done", "failed", "stopped"):
            break
        time.sleep(0.05)
    span = marks[-1][0] - marks[1][0] if len(marks) > 2 else float("nan")
    job_rate = (marks[-1][1] - marks[1][1]) / span if len(marks) > 2 else float("nan")
    redraw = (len(marks) - 2) / span if len(marks) > 2 else float("nan")
    t0 = time.perf_counter()
    gjob = runner.submit(F.glow_training_spec())
    while runner.get(gjob).status not in ("done", "failed", "stopped"):
        time.sleep(0.5)
    glow_s = time.perf_counter() - t0
    gsnap = runner.get(gjob)
    gm = (checkpoints.read_card(gsnap.checkpoint).get("metrics") or {}) if gsnap.checkpoint \
        else {}
    glow_bpd = float(gm.get("bpd", float("nan")))
    rows = [
        ("one training step (batch 512, 6 transforms), p50 / p95", f"{pct(step, 50) * 1e3:.1f} / "
         f"{pct(step, 95) * 1e3:.1f} ms", "", ""),
        ("training steps a second in `fit` (300 steps, one thread)", f"{fit_rate:.0f}", "", ""),
        ("the page's view of a shipped flow (96² lattice, 1,000 samples, 7 grid stages), p50 / "
         "p95", f"{pct(view, 50) * 1e3:.0f} / {pct(view, 95) * 1e3:.0f} ms", "≤ 1 s (cached "
         "once per file)", "ok" if pct(view, 95) <= 1 else "over"),
        ("the job's density preview (64² lattice, 500 samples), p50 / p95",
         f"{pct(prev, 50) * 1e3:.0f} / {pct(prev, 95) * 1e3:.0f} ms", "", ""),
        ("held-out evaluation stored in the card (3 seeds)", f"{evaluate_s:.2f} s", "", ""),
        ("a training job with its live density preview: steps a second", f"{job_rate:.0f}",
         "≥ 20", "ok" if job_rate >= 20 else "under"),
        ("… its preview redraws a second", f"{redraw:.2f}", "", ""),
        (f"the page's default Glow job ({F.GLOW_JOB_STEPS:,} steps on the digits, "
         f"{torch.get_num_threads()} torch thread(s) here; status {gsnap.status}): wall time "
         "to its end, held-out measurement included", f"{glow_s / 60:.1f} min", "≤ 10 min",
         "ok" if glow_s <= 600 else "over"),
        ("… its held-out bits/dim (500 digits, one noise draw)", f"{glow_bpd:.3f}", "≤ 1.6",
         "ok" if glow_bpd <= 1.6 else "over"),
        ("… readable samples of 1,000 at T = 0.7", f"{100 * float(gm.get('readable', 0)):.1f}%",
         "", ""),
    ]
    path = write_section(SECTION, HEADING, rows, notes=(
        f"Load average before the run: {load}. The job runs in a runner thread as the page's "
        "Train section starts it (its preview refreshes at most once a second, "
        "`unsup.jobs.PREVIEW_SECONDS`); steps and redraws are counted from the job's snapshots "
        f"between its second and last preview. Whole run {time.time() - t_all:.0f} s. Rerun: "
        "`.venv/bin/python bench/bench_flows.py`."))
    import runpy

    runpy.run_path(str(path.parent.parent / "collect.py"))  # bench/RESULTS.md from the sections


if __name__ == "__main__":
    main()
