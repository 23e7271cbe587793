"""BLEU and chrF through sacrebleu on the project's token lists (issue: translation page)."""

import pytest

from unsup.metrics import translation as T


def test_bleu_of_the_identity_is_100_and_chrf_too():
    refs = [["ขาย", "คอนโด", "ใหม่", "ใน", "พัทยา"], ["house", "for", "rent", "near", "the", "beach"]]
    assert T.bleu(refs, refs) == pytest.approx(100.0)
    assert T.chrf(refs, refs) == pytest.approx(100.0)


def test_bleu_counts_our_tokens_not_sacrebleus():
    # Thai written as one run would be one "word" to sacrebleu's default tokenizer; here the
    # tokens are ours, so a hypothesis with one of four tokens wrong loses unigram precision
    ref = [["ขาย", "คอนโด", "ใหม่", "พัทยา"]]
    hyp = [["ขาย", "บ้าน", "ใหม่", "พัทยา"]]
    # the hand computation uses a 10-token sentence (every n-gram order has matches)
    long_ref = [("a b c d e f g h i j".split())]
    long_hyp = [("a b c d e X g h i j".split())]
    # matches: 1-grams 9/10, 2-grams 7/9, 3-grams 5/8, 4-grams 3/7; brevity penalty 1
    import math

    expected = 100 * math.exp((math.log(9 / 10) + math.log(7 / 9) + math.log(5 / 8)
                               + math.log(3 / 7)) / 4)
    assert T.bleu(long_hyp, long_ref) == pytest.approx(expected, abs=1e-6)
    assert T.bleu(hyp, ref) < 100


def test_lengths_must_match():
    with pytest.raises(ValueError):
        T.bleu([["a"]], [])
    same = [list("abcdefgh")]
    assert T.scores(same, same) == {"bleu": 100.0, "chrf": 100.0}
    # under four tokens there is no 4-gram to match: BLEU is 0 even for the reference itself
    assert T.bleu([["a", "b"]], [["a", "b"]]) == 0.0
