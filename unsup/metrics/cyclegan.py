"""Metrics of unpaired translation (CycleGAN), on held-out images only.

- **Label kept** (the FCN-score idea of Zhu et al. 2017, sec. 5.1.1, with the project's own
  classifier in place of a downloaded FCN): translate held-out images of one domain, label them
  with a classifier trained on the *target* domain, and count how often that label is the source
  image's label. Higher is better; 1 = no digit changed identity. Published anchors for pixel-level
  digit adaptation: PixelDA MNIST→MNIST-M 98.2% (Bousmalis et al. 2017), CyCADA MNIST→USPS 95.6%
  (Hoffman et al. 2018), CyCADA's pixel-only SVHN→MNIST ~70%.
- **Cycle L1**: mean |F(G(x)) - x| over every value of held-out images in [0, 1] (0 = perfect
  reconstruction; lower is better).
- **Right digit and judged B** (the joint measure): label kept alone does not show that a
  translation works — returning the input untranslated already keeps most digits. A translation
  must keep the digit *and* look like the target domain: the share of translations that the
  target domain's digit classifier reads as the source label and that an A-vs-B judge (a
  classifier of the domain, trained on real images of both) assigns to the target domain.
  Doing nothing scores about 0, the paired truth about the instruments' accuracy.
- **Paired error**: mean |G(x) - B(x)| against the ground truth the project can build for the
  digit and photo pairs (lower is better), reported beside the **identity baseline**
  mean |x - B(x)|, the error of a "translator" that returns its input: a translation is only
  useful when it beats that baseline.

All images are (n, c, s, s) float tensors or arrays in [0, 1]; results are plain floats/lists.
"""

from __future__ import annotations

import numpy as np
import torch


def _t(x) -> torch.Tensor:
    if torch.is_tensor(x):
        return x.float()
    return torch.tensor(np.asarray(x), dtype=torch.float32)  # a copy: arrays may be read-only


def _batched(fn, x: torch.Tensor, batch: int = 128) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch]).cpu() for i in range(0, len(x), batch)]) if len(x) \
        else x.clone()


def mean_l1(x, y) -> float:
    """mean |x - y| over every value (two image batches of one shape)."""
    x, y = _t(x), _t(y)
    if x.shape != y.shape:
        raise ValueError(f"image batches differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    return float((x - y).abs().mean()) if x.numel() else float("nan")


def label_kept(classifier, translated, labels) -> dict:
    """How often ``classifier`` (trained on the target domain; has ``predict(x) -> (n,)``)
    labels the ``translated`` images (n, c, s, s) as their source ``labels`` (n,).

    Returns ``accuracy`` (share kept, in [0, 1]; higher is better), ``predicted`` (n labels),
    ``flips`` (indices of the images whose label changed) and ``n``.
    """
    y = torch.tensor(np.asarray(labels)).long()
    pred = classifier.predict(_t(translated)).cpu().long()
    if pred.shape != y.shape:
        raise ValueError(f"{len(pred)} translated images but {len(y)} labels")
    kept = pred == y
    return {"accuracy": float(kept.float().mean()) if len(y) else float("nan"),
            "predicted": pred.tolist(), "flips": torch.nonzero(~kept).flatten().tolist(),
            "n": int(len(y))}


def judged_as(judge, images, domain: int) -> float:
    """Share of ``images`` (n, c, s, s) that ``judge`` (an A-vs-B classifier with
    ``predict(x) -> (n,)``, 0 = domain A, 1 = domain B) assigns to ``domain``."""
    x = _t(images)
    return float((judge.predict(x).cpu().long() == int(domain)).float().mean()) if len(x) \
        else float("nan")


def right_and_judged(classifier, judge, images, labels, domain: int) -> dict:
    """The joint measure of a translation into ``domain`` (0 = A, 1 = B): the share of
    ``images`` that the target domain's digit ``classifier`` reads as their source ``labels``
    **and** that the A-vs-B ``judge`` assigns to ``domain``. A translator that returns its input
    keeps the digit but is never judged to be in the other domain (near 0); a perfect one (the
    paired truth) scores about its instruments' accuracy.

    Returns ``joint`` (that share), ``judged`` (share judged ``domain`` alone) and ``kept``
    (share read as the right digit alone), each in [0, 1], higher is better.
    """
    x = _t(images)
    y = torch.tensor(np.asarray(labels)).long()
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    if not len(y):
        return {"joint": float("nan"), "judged": float("nan"), "kept": float("nan")}
    kept = classifier.predict(x).cpu().long() == y
    judged = judge.predict(x).cpu().long() == int(domain)
    return {"joint": float((kept & judged).float().mean()),
            "judged": float(judged.float().mean()), "kept": float(kept.float().mean())}


def instrument_scores(fake_b, fake_a, a, b, truth_ab, truth_ba, y_a, y_b,
                      instruments) -> dict:
    """Label kept, judged-as-target and the joint measure (:func:`right_and_judged`) of the two
    translations ``fake_b`` = G_AB(a) and ``fake_a`` = G_BA(b), beside doing nothing (``a`` and
    ``b`` as they are) and a perfect translator (the paired truths ``truth_ab`` = B(a),
    ``truth_ba`` = A(b); None where unknown), read through each triple
    ``(classifier_a, classifier_b, judge)`` of ``instruments`` (independently trained
    instruments). Returns ``{key: [value per triple]}``; keys ``{kept,judged,joint}_ab``
    (G_AB(a) read by classifier_b, judged B), ``..._ab_input``, ``..._ab_truth`` and the same
    for ``_ba`` (G_BA(b) read by classifier_a, judged A)."""
    out: dict[str, list[float]] = {}
    cases = {"ab": (fake_b, a, truth_ab, y_a, 1), "ba": (fake_a, b, truth_ba, y_b, 0)}
    for clf_a, clf_b, judge in instruments:
        for d, (fake, src, truth, y, target) in cases.items():
            clf = clf_b if target == 1 else clf_a
            for suffix, x in (("", fake), ("_input", src), ("_truth", truth)):
                if x is None:
                    continue
                r = right_and_judged(clf, judge, x, y, target)
                for m in ("kept", "judged", "joint"):
                    out.setdefault(f"{m}_{d}{suffix}", []).append(r[m])
    return out


def cycle_l1(model, x, source: str = "a") -> float:
    """Cycle reconstruction error mean |F(G(x)) - x| of ``model`` (its ``cycle(x, source)``)
    on images ``x`` of domain ``source`` ("a" or "b"); 0 is a perfect cycle."""
    x = _t(x)
    rec = _batched(lambda v: model.cycle(v, source), x)
    return mean_l1(rec, x)


def paired_error(translated, truth) -> float:
    """mean |G(x) - B(x)| against the paired ground truth (lower is better)."""
    return mean_l1(translated, truth)


def identity_baseline(source, truth) -> float:
    """mean |x - B(x)|: the paired error of returning the input unchanged."""
    return mean_l1(source, truth)


def evaluate(model, pair, classifier_a=None, classifier_b=None, *, n: int | None = None,
             instruments=()) -> dict:
    """Every metric of the module docstring on the held-out images of ``pair``
    (:class:`unsup.data.domains.DomainPair`), first ``n`` of each domain (all if None).

    Keys: ``cycle_l1_a``, ``cycle_l1_b``; ``identity_l1_a`` (mean |G_BA(a) - a|: how much the
    A-producing generator changes an image that is already in A; lower is better) and
    ``identity_l1_b`` (|G_AB(b) - b|). When the pair has paired truth (the built-in pairs; an
    uploaded pair has none): ``paired_error_ab`` (G_AB(a) vs B(a)) and
    ``identity_baseline_ab`` (a vs B(a)); ``paired_error_ba`` (G_BA(b) vs its source) and
    ``identity_baseline_ba``. With classifiers and labels: ``label_kept_ab`` (G_AB(a) under the
    domain-B classifier), ``label_kept_ba`` (G_BA(b) under the domain-A classifier),
    ``flips_ab``/``flips_ba`` (indices of changed labels), and two references for each
    direction: ``label_kept_ab_input`` (the untranslated a under the domain-B classifier: what
    doing nothing scores) and ``label_kept_ab_truth`` (the paired truth B(a) under it: what a
    perfect translator scores, the instrument's own ceiling), and the same for ``_ba``.
    With ``instruments`` (triples of digit classifier A, digit classifier B and A-vs-B judge)
    and labels: ``per_instrument``, :func:`instrument_scores` of the translations.
    """
    k = slice(None) if n is None else slice(0, int(n))
    a, b = _t(pair.a_test[k]), _t(pair.b_test[k])
    fake_b = _batched(model.translate_ab, a)
    fake_a = _batched(model.translate_ba, b)
    out = {
        "n_a": int(len(a)), "n_b": int(len(b)),
        "cycle_l1_a": mean_l1(_batched(model.translate_ba, fake_b), a),
        "cycle_l1_b": mean_l1(_batched(model.translate_ab, fake_a), b),
        "identity_l1_a": mean_l1(_batched(model.translate_ba, a), a),
        "identity_l1_b": mean_l1(_batched(model.translate_ab, b), b),
    }
    truth_ab, truth_ba = getattr(pair, "b_of_a_test", None), getattr(pair, "a_of_b_test", None)
    if truth_ab is not None and truth_ba is not None:
        out.update({
            "paired_error_ab": paired_error(fake_b, truth_ab[k]),
            "identity_baseline_ab": identity_baseline(a, truth_ab[k]),
            "paired_error_ba": paired_error(fake_a, truth_ba[k]),
            "identity_baseline_ba": identity_baseline(b, truth_ba[k]),
        })
    y_a, y_b = getattr(pair, "y_a_test", None), getattr(pair, "y_b_test", None)
    if classifier_b is not None and y_a is not None:
        r = label_kept(classifier_b, fake_b, y_a[k])
        out["label_kept_ab"], out["flips_ab"] = r["accuracy"], r["flips"]
        out["predicted_ab"] = r["predicted"]
        out["label_kept_ab_input"] = label_kept(classifier_b, a, y_a[k])["accuracy"]
        if truth_ab is not None:
            out["label_kept_ab_truth"] = label_kept(classifier_b, truth_ab[k], y_a[k])["accuracy"]
    if classifier_a is not None and y_b is not None:
        r = label_kept(classifier_a, fake_a, y_b[k])
        out["label_kept_ba"], out["flips_ba"] = r["accuracy"], r["flips"]
        out["predicted_ba"] = r["predicted"]
        out["label_kept_ba_input"] = label_kept(classifier_a, b, y_b[k])["accuracy"]
        if truth_ba is not None:
            out["label_kept_ba_truth"] = label_kept(classifier_a, truth_ba[k], y_b[k])["accuracy"]
    if instruments and y_a is not None and y_b is not None:
        out["per_instrument"] = instrument_scores(
            fake_b, fake_a, a, b, None if truth_ab is None else truth_ab[k],
            None if truth_ba is None else truth_ba[k], y_a[k], y_b[k], instruments)
    return out
