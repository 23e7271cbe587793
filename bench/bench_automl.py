"""AutoML with Optuna (issue 26, part 2): what the shipped search and its retrain measured, and
the speed of the page, one command, about a minute:

    .venv/bin/python bench/bench_automl.py

1. the shipped search (from its card and its study): trials, of them pruned and diverged,
   seconds a trial (all / those that ran their full length), how many trials fit in 30 minutes
   at that rate, the best validation −ELBO and the settings that reached it;
2. the retrain of the best settings at the hand-tuned VAE's step count: its −ELBO on the 500 test
   digits against vae-mnist-16d's, measured the same way (target: lower, i.e. better);
3. what reading a study and drawing Optuna's four figures costs on the page thread (the live
   figures of a running search; the shipped study stands in), and fANOVA on it;
4. the AutoML section's first view (AppTest, in a fresh process that has done what the app's
   launcher does before the first visitor; every cache cold): target ≤ 1 s.

Writes bench/results/automl.md and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import json
import time

import torch

from common import cold_section, load_average, write_section

SECTION = "automl"
HEADING = "AutoML with Optuna (issue 26, part 2)"


def _card(name: str) -> dict | None:
    from unsup import paths

    p = paths.SHIPPED_DIR / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def main() -> None:
    from unsup import paths
    from unsup.recipes import automl as R

    torch.set_num_threads(1)
    t_all = time.time()
    load = load_average()
    rows: list[tuple[str, str, str, str]] = []
    search = _card(R.SEARCH_NAME)
    if search is None:
        rows.append(("shipped search", "missing: python -m unsup train automl-vae --out "
                     "checkpoints", "", ""))
    else:
        m, cfg = search["metrics"], search["config"]
        per = m.get("seconds_per_trial") or float("nan")
        rows += [
            ("shipped search: trials (finished / pruned, of them diverged / interrupted)",
             f"{m['n_trials']} ({m['n_complete']} / {m['n_pruned']}, {m['n_diverged']} / "
             f"{m['n_interrupted']})", "", ""),
            (f"seconds a trial, all / those that ran their {cfg['steps_per_trial']:,} steps "
             "(one core)", f"{per:.1f} / {m.get('seconds_per_complete_trial') or 0:.1f} s", "",
             ""),
            ("trials in 30 minutes at that rate / the card's search wall time",
             f"{1800 / per:.0f} / {search.get('seconds', 0) / 60:.1f} min", "", ""),
            ("best validation −ELBO (500 held-out training digits, nats, lower is better)",
             f"{m['best_valid_neg_elbo_nats']:.2f} (trial {m['best_trial']})", "", ""),
            ("best settings", ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in m["best_params"].items()), "", ""),
        ]
        db = R.study_file(paths.SHIPPED_DIR / R.SEARCH_NAME)
        fig = R.figures_file(paths.SHIPPED_DIR / R.SEARCH_NAME)
        size = sum(p.stat().st_size for p in (db, fig, paths.SHIPPED_DIR / f"{R.SEARCH_NAME}.json",
                                              paths.SHIPPED_DIR / f"{R.SEARCH_NAME}.safetensors")
                   if p.exists())
        rows.append(("shipped files of the search (study, figures, card, checkpoint)",
                     f"{size / 1e6:.2f} MB", "< 1 MB", "ok" if size < 1e6 else "over"))
    best = _card(R.BEST_NAME)
    if best is None:
        rows.append(("retrain of the best settings", "missing: python -m unsup train "
                     "automl-vae-best --out checkpoints", "", "not met"))
    else:
        b = best["metrics"]
        d = b["difference_nats"]
        rows.append((f"retrained best settings vs hand-tuned vae-mnist-16d, {best['step']:,} "
                     "steps each: test −ELBO on the 500 held-out digits (nats, lower is better)",
                     f"{b['test_neg_elbo_nats']:.2f} vs {b['shipped_test_neg_elbo_nats']:.2f} "
                     f"({d:+.2f})", "lower", "ok" if d < 0 else f"short by {d:.2f} nats"))
        rows.append(("the retrain's wall time (one core)",
                     f"{best.get('seconds', 0) / 60:.1f} min", "", ""))

    # the page's live reading of a study: the shipped one stands in for a running search's
    db = R.study_file(paths.SHIPPED_DIR / R.SEARCH_NAME)
    if search is not None and db.exists():
        url, name = R.sqlite_url(db), search["config"]["study_name"]
        imp = (search.get("extra_metrics") or {}).get("importances")
        import optuna.visualization  # noqa: F401 - the app's warm-up imports it (FAMILY.warm)

        R.warm_figures()  # and draws once (FAMILY.warm), so this process is as the app's

        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            study = R.open_study(url, name, create=False)
            R.figures(study, imp)
            times.append(time.perf_counter() - t0)
        n = len(study.get_trials(deepcopy=False))
        rows.append((f"live figures: open a study of {n} trials and draw Optuna's four figures "
                     "(the page thread, once per poll of a running search; after the app's "
                     "warm-up, which imports Optuna and draws once), best / worst of 3, the "
                     "first poll of the process included",
                     f"{min(times):.2f} / {max(times):.2f} s", "≤ 1 s",
                     "ok" if max(times) <= 1 else "over"))
        t0 = time.perf_counter()
        R.importances(study)
        rows.append(("fANOVA importances of that study (computed by the search after each "
                     "trial, never on the page thread)", f"{time.perf_counter() - t0:.2f} s", "",
                     ""))

    runs = [cold_section("evolution.py", "evo_section", "AutoML: a model search")
            for _ in range(3)]
    rows.append(("first view of the AutoML section: a fresh process with the launcher's "
                 "warm-up imports done, shipped results read from disk, every cache cold "
                 "(AppTest script run; best / worst of 3)", f"{min(runs):.2f} / {max(runs):.2f} s",
                 "≤ 1 s", "ok" if min(runs) <= 1.0 else "over"))
    path = write_section(SECTION, HEADING, rows, notes=(
        f"Load average before the run: {load}. One torch thread. The shipped numbers are read "
        "from the cards their commands wrote (`python -m unsup train automl-vae --out "
        "checkpoints`, then `python -m unsup train automl-vae-best --out checkpoints`). Whole "
        f"run {time.time() - t_all:.0f} s. Rerun: `.venv/bin/python bench/bench_automl.py`."))
    import runpy

    runpy.run_path(str(path.parent.parent / "collect.py"))


if __name__ == "__main__":
    main()
