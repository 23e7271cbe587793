"""The job panel's responsiveness (issue 11.6): how long after Start the panel can say what the
job does, how long until its first training step, and how long after Stop the run has stopped
(its checkpoint saved). Five runs of the VAE page's default job through the shared runner.

    python bench/bench_jobs.py
"""

from __future__ import annotations

import time

from common import pct, write_section

from unsup.jobs import ThreadRunner  # noqa: E402
from unsup.recipes.vae import training_spec  # noqa: E402


def one_run(runner: ThreadRunner) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    job_id = runner.submit(training_spec(epochs=60))
    phase_at = first_step_at = None
    while True:
        snap = runner.get(job_id)
        now = time.perf_counter() - t0
        if phase_at is None and snap.phase and snap.status == "running":
            phase_at = now
        if snap.step > snap.start_step:
            first_step_at = now
            break
        time.sleep(0.005)
    time.sleep(1.0)  # let it train a little
    t1 = time.perf_counter()
    runner.stop(job_id)
    while runner.get(job_id).active:
        time.sleep(0.005)
    stopped = time.perf_counter() - t1
    assert runner.get(job_id).status == "stopped"
    return phase_at, first_step_at, stopped


def main() -> None:
    runner = ThreadRunner()
    runs = [one_run(runner) for _ in range(5)]
    phase, first, stop = zip(*runs)
    rows = [
        ("Start → the panel says what the job does (\"building the model and loading data\"), "
         "p50 / max", f"{pct(phase, 50) * 1000:.0f} / {max(phase) * 1000:.0f} ms", "at once", ""),
        ("Start → the first point of the loss curve (the first 10 steps, reported together), "
         "p50 / max", f"{pct(first, 50):.2f} / {max(first):.2f} s", "", ""),
        ("Stop → run stopped and its checkpoint saved, p50 / max",
         f"{pct(stop, 50):.2f} / {max(stop):.2f} s", "≤ 2 s",
         "✅" if max(stop) <= 2 else "❌"),
    ]
    write_section("jobs", "Job panel: start and stop (issue 11.6)", rows, notes=(
        "The VAE page's default job (16-D VAE, 60 epochs of the built-in digits), five times "
        "through `unsup.jobs.ThreadRunner`; Stop is pressed one second after the first step. "
        "The panel acknowledges Stop at once (\"stopping after this step…\"); a stopped run "
        "skips the held-out measurement, which a page makes when it needs it. "
        "`python bench/bench_jobs.py`"))


if __name__ == "__main__":
    main()
