"""Assemble bench/RESULTS.md from the sections the bench scripts wrote to bench/results/."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
sections = sorted((HERE / "results").glob("*.md"))
text = ["# Benchmark results", "",
        "Written by `python -m unsup bench` (each `bench/bench_*.py` writes one section to "
        "`bench/results/`, this file joins them). Speed is measured here, never asserted in "
        "tests. Each section names the machine it ran on.", ""]
for s in sections:
    text += [s.read_text(encoding="utf-8").strip(), ""]
(HERE / "RESULTS.md").write_text("\n".join(text), encoding="utf-8")
print(f"wrote {HERE / 'RESULTS.md'} from {len(sections)} sections")
