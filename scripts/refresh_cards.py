"""Maintenance: recompute the held-out metrics of shipped checkpoints from their files, as
`python -m unsup eval` does, and store them in their cards (weights untouched).

    .venv/bin/python scripts/refresh_cards.py betavae-b1 adagvae-b1 ...

Used once (2026-11-28) for the five β-VAE checkpoints, whose cards had been measured on the
in-memory model at the end of training: its channels-last weights gave codes that differ from the
loaded model's in the last bits, enough to move the BetaVAE score by one vote of 5,000.
`train_preset` now measures the model loaded back from its file, so new cards need no refresh.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from unsup import checkpoints, families, paths  # noqa: E402


def refresh(name: str) -> dict:
    family, _ = families.of_preset(name)
    path = checkpoints.weights_path(paths.SHIPPED_DIR / name)
    model = checkpoints.load(path)
    metrics = dict(family.evaluate(model))
    extra = metrics.pop("extra_metrics", None)
    card = dict(model.card_)
    card["metrics"] = metrics
    if extra:
        card["extra_metrics"] = extra
    checkpoints.save(model, path, card, optimizer=False)
    return metrics


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, refresh(name), flush=True)
