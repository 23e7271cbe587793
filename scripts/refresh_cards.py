"""Maintenance: recompute the held-out metrics of shipped checkpoints from their files, as
`python -m unsup eval` does, and store them in their cards (weights untouched).

    .venv/bin/python scripts/refresh_cards.py betavae-b1 adagvae-b1 ...
    .venv/bin/python scripts/refresh_cards.py --standing-stats dcgan-mnist-ns ...

Without ``--standing-stats`` only the card changes (its embedded copy and the JSON file); the
tensors are written back byte for byte (:func:`unsup.checkpoints.update_card`). Used
2026-12-06 for the image and 2-D GANs (every sampled metric measured over three noise seeds,
mean and per-seed values; see :mod:`unsup.metrics.seeds`) and for the digit CycleGAN (the joint
"right digit and judged B" measure, see :mod:`unsup.recipes.cyclegan`).
Used 2026-12-06 too for the five β-VAE checkpoints (every score over the three seeds of
:data:`unsup.recipes.betavae.EVAL_SEEDS`) and for ``keypoints-faces`` (the random-weights baseline
per weight seed, the equivariance error over three warp seeds).

Used once (2026-11-28) for the five β-VAE checkpoints, whose cards had been measured on the
in-memory model at the end of training: its channels-last weights gave codes that differ from the
loaded model's in the last bits, enough to move the BetaVAE score by one vote of 5,000.
`train_preset` now measures the model loaded back from its file, so new cards need no refresh.

``--standing-stats`` (image GANs with a generator average): first recompute the averaged
generator's BatchNorm statistics (:meth:`unsup.models.gan._GAN.refresh_ema_stats`), exactly as
training now does before every save; its weights stay as they are. Used once (2026-11-29) for
the shipped image GANs, trained while the average still copied the trained generator's
statistics.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from unsup import checkpoints, families, paths  # noqa: E402
from unsup.recipes.gan import STANDING_STATS_NOTE  # noqa: E402



def refresh(name: str, standing_stats: bool = False) -> dict:
    family, _ = families.of_preset(name)
    path = checkpoints.weights_path(paths.SHIPPED_DIR / name)
    model = checkpoints.load(path)
    card = dict(model.card_)
    if standing_stats:
        model.refresh_ema_stats()
        model.round_to_stored()  # measured as it will be stored
        card["note"] = STANDING_STATS_NOTE
    t0 = time.perf_counter()
    metrics = dict(family.evaluate(model))
    seconds = round(time.perf_counter() - t0, 1)
    extra = metrics.pop("extra_metrics", None)
    if not standing_stats:  # the tensors stay byte for byte as they are; only the card changes
        fields = {"metrics": metrics, "eval_seconds": seconds}
        if extra:
            fields["extra_metrics"] = extra
        checkpoints.update_card(path, expect_step=model.step_, **fields)
        return metrics
    card["metrics"] = metrics
    card["eval_seconds"] = seconds
    if extra:
        card["extra_metrics"] = extra
    checkpoints.save(model, path, card, optimizer=False, compact=standing_stats)
    return metrics


if __name__ == "__main__":
    args = sys.argv[1:]
    standing = "--standing-stats" in args
    for name in (a for a in args if a != "--standing-stats"):
        print(name, refresh(name, standing), flush=True)
