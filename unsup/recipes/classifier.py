"""The digit classifier: a measuring instrument, not a page. It labels the images generative
models decode (how many different digits does the 2-D VAE's manifold show?)."""

from __future__ import annotations

from typing import Any

import torch

from unsup.data.images import load_split
from unsup.families import Family, Preset
from unsup.models.classifier import ClassifierConfig, DigitClassifier

PRESETS = (
    Preset("digit-classifier", "Digit classifier",
           "Small CNN on the MNIST train split; labels decoded images.", "digit_classifier",
           2500, {}, "mnist", checkpoint_every=500),
)


def build(preset: Preset):
    split = load_split(preset.data)
    model = DigitClassifier(ClassifierConfig(**preset.config))
    data = DigitClassifier.pack(torch.from_numpy(split.x_train.copy()),
                                torch.from_numpy(split.y_train.copy()))
    return model, data, {"name": preset.data, "fingerprint": split.fingerprint(),
                         "n_train": int(len(split.y_train))}


def evaluate(model: DigitClassifier) -> dict[str, Any]:
    """Accuracy on the held-out test split of the set it was trained on."""
    name = ((model.card_ or {}).get("data") or {}).get("name") or "mnist"
    split = load_split(name)
    proba = model.predict_proba(torch.from_numpy(split.x_test.copy()))
    acc = float((proba.argmax(1) == torch.from_numpy(split.y_test.copy())).float().mean())
    return {"test_accuracy": round(acc, 4), "n_test": int(len(split.y_test))}


FAMILY = Family(
    name="classifier",
    label="Digit classifier (measuring instrument)",
    models=(DigitClassifier,),
    kind_labels={"digit_classifier": "digit classifier"},
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data={"mnist": "MNIST (4,500 train digits)"},
    headline=("test_accuracy",),
)
