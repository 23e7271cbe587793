"""Assemble bench/RESULTS.md from the sections the bench scripts wrote to bench/results/."""

from common import collect_results

collect_results()
