"""Sentence-translation scores with a kept implementation (sacrebleu, Post 2018).

Both languages reach these functions as token lists (the bilingual generator's tokens, or a
user's text after :func:`unsup.data.bilingual.tokenize`), joined by single spaces, and sacrebleu
is told not to tokenize again (``tokenize="none"``). That matters for Thai, which is written
without spaces between words: sacrebleu's default tokenizer would treat a whole Thai phrase as
one "word". So BLEU here is BLEU over the project's word tokens in both directions, and chrF
(Popović 2015) is computed on the same joined strings (character n-grams, spaces ignored).

Higher is better for both; a system that returns the reference scores 100.
"""

from __future__ import annotations

from collections.abc import Sequence

Tokens = Sequence[str]


def _join(sentences: Sequence[Tokens]) -> list[str]:
    return [" ".join(s) for s in sentences]


def bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> float:
    """Corpus BLEU (0-100, higher is better) of token lists against one reference each."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    import sacrebleu

    return float(sacrebleu.corpus_bleu(_join(hypotheses), [_join(references)],
                                       tokenize="none").score)


def chrf(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> float:
    """Corpus chrF (0-100, higher is better) of token lists against one reference each."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    import sacrebleu

    return float(sacrebleu.corpus_chrf(_join(hypotheses), [_join(references)]).score)


def scores(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> dict[str, float]:
    """``{"bleu": ..., "chrf": ...}`` rounded to 0.01."""
    return {"bleu": round(bleu(hypotheses, references), 2),
            "chrf": round(chrf(hypotheses, references), 2)}
