"""Shared helpers of the benchmark scripts: percentiles, the machine, writing a results section."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
# benchmark runs must not land among the user's own models
os.environ.setdefault("UNSUP_RUNS_DIR", __import__("tempfile").mkdtemp(prefix="unsup-bench-"))


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, {gpu}; "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def pct(samples, q) -> float:
    return float(np.percentile(np.asarray(samples, dtype=float), q))


def timeit(fn, n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def write_section(name: str, title: str, rows: list[tuple[str, str, str, str]], notes: str = ""
                  ) -> Path:
    """Write bench/results/<name>.md: a table of (measure, result, target, verdict) rows."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [f"## {title}", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()} "
             f"(load average before the run: {load_average()}).", "",
             "| measure | result | target | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    if notes:
        lines += ["", notes.strip()]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return path


def run_fresh(code: str) -> str:
    """Run python ``code`` in a fresh interpreter (cold imports) and return its stdout."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return out.stdout


COLD_OPEN = """
import time, json
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
t1 = time.perf_counter()
at = AppTest.from_file({file!r}, default_timeout=120)
at.run()
t2 = time.perf_counter()
assert not at.exception, at.exception
print(json.dumps({{"import_streamlit": t1 - t0, "first_run": t2 - t1}}))
"""


COLD_SECTION = """
import time, json
from streamlit.testing.v1 import AppTest
import torch, streamlit, plotly, pandas  # what the launcher's warm-up has imported
from unsup import serve
serve.warm_up(thumbnails=False)  # the launcher's warm-up: modules, the checkpoint list, gc freeze
at = AppTest.from_file({file!r}, default_timeout=120)
at.session_state[{key!r}] = {section!r}
t1 = time.perf_counter()
at.run()
t2 = time.perf_counter()
assert not at.exception, at.exception
print(json.dumps({{"first_run": t2 - t1}}))
"""


def cold_section(page: str, key: str, section: str) -> float:
    """Seconds of a page section's first script run (AppTest) in a fresh process that has done
    what the app's launcher does before the first visitor (imported torch, Streamlit and the
    families' warm-up modules, listed the checkpoints once, frozen the imported objects out of
    the garbage collector's way); the models and data read from disk, every cache cold."""
    code = COLD_SECTION.format(file=str(Path("app_pages") / page), key=key, section=section)
    return json.loads(run_fresh(code).strip().splitlines()[-1])["first_run"]


def cold_open(page: str) -> dict[str, float]:
    """A page's first render in a fresh interpreter (cold imports, cold caches), as AppTest
    runs it: seconds to import Streamlit and seconds of the first script run."""
    out = run_fresh(COLD_OPEN.format(file=str(ROOT / "app_pages" / page)))
    return json.loads(out.strip().splitlines()[-1])  # the last line: imports may print


def start_app(runs: Path, app: str = "app.py", cwd: Path = ROOT
              ) -> tuple["subprocess.Popen", str]:
    """A fresh ``streamlit run app.py`` (or another ``app`` in ``cwd``) on a free port, its user
    runs in ``runs``; returns (process, URL) once the server answers its health check."""
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, UNSUP_RUNS_DIR=str(runs))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def stop_app(proc) -> None:
    """End a server :func:`start_app` started (terminate; kill after 10 s)."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def collect_results() -> Path:
    """Join the sections in bench/results/ into bench/RESULTS.md (what ``python -m unsup bench``
    ends with; a bench run alone calls it to refresh its own section there)."""
    sections = sorted(RESULTS.glob("*.md"))
    text = ["# Benchmark results", "",
            "Written by `python -m unsup bench` (each `bench/bench_*.py` writes one section to "
            "`bench/results/`, this file joins them). Speed is measured here, never asserted in "
            "tests. Each section names the machine it ran on.", ""]
    for s in sections:
        text += [s.read_text(encoding="utf-8").strip(), ""]
    out = RESULTS.parent / "RESULTS.md"
    out.write_text("\n".join(text), encoding="utf-8")
    print(f"wrote {out} from {len(sections)} sections")
    return out
