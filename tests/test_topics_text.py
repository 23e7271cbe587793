"""Tokenization of Thai, English and mixed listings, and the vocabulary."""

from unsup.data.listings import THEMES, generate
from unsup.text import TextConfig, build_corpus, raw_tokens, thai_stopwords, tokenize, tokenize_all


def test_thai_words_are_segmented_and_stopwords_dropped():
    toks = tokenize("คอนโดวิวทะเลและสระว่ายน้ำ ใกล้ชายหาดมาก")
    assert toks[:3] == ["คอนโด", "วิว", "ทะเล"]
    assert "สระว่ายน้ำ" in toks and "ชายหาด" in toks
    assert "และ" not in toks and "มาก" not in toks  # Thai stopwords


def test_meaningful_thai_stopwords_are_kept():
    for word in ("ใกล้", "ใหม่", "สูง", "กว้าง", "ใหญ่"):
        assert word not in thai_stopwords()
    assert tokenize("ห้องกว้าง เพดานสูง ใกล้รถไฟฟ้า") == ["ห้อง", "กว้าง", "เพดาน", "สูง", "ใกล้",
                                                           "รถไฟฟ้า"]


def test_mixed_thai_english_document():
    toks = tokenize("Condo ใกล้ BTS อโศก 300 เมตร, วิวทะเลสวย!! Fully-furnished with a pool")
    assert "condo" in toks and "bts" in toks and "pool" in toks and "fully-furnished" in toks
    assert "ใกล้" in toks and "วิว" in toks and "ทะเล" in toks
    assert "300" not in toks and "," not in toks and "with" not in toks and "a" not in toks


def test_english_lowercased_and_extra_stopwords():
    cfg = TextConfig(extra_stopwords=("Condo", "ทะเล"))
    assert tokenize("Sea VIEW condo by the Beach วิวทะเล", cfg) == ["sea", "view", "beach", "วิว"]


def test_raw_tokens_keep_everything_for_the_document_view():
    assert raw_tokens("วิวทะเลและ pool") == ["วิว", "ทะเล", "และ", "pool"]


def test_generator_phrases_tokenize_back_to_their_words():
    for _key, _th, _en, phrases in THEMES:
        for th, en, _w in phrases:
            assert raw_tokens("".join(th)) == list(th)
            assert tokenize(" ".join(en)) == list(en)


def test_vocabulary_min_and_max_document_frequency():
    toks = [["a1", "b1"], ["a1", "c1"], ["a1", "b1"], ["d1"]]
    c = build_corpus(toks, TextConfig(min_df=2, max_df=0.7))
    assert c.vocab == ["b1"]  # a1 is in 75% of documents, c1 and d1 in one
    assert [d.tolist() for d in c.docs] == [[0], [], [0], []]


def test_corpus_tokens_cover_the_generator_vocabulary():
    listings = generate(300, seed=3, lang="mixed")
    seen = {t for doc in tokenize_all(listings.df["text"]) for t in doc}
    truth = set(listings.truth.vocab)
    assert len(truth & seen) / len(truth) > 0.9
