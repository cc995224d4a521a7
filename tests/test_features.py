import pickle

import numpy as np
import pandas as pd
import pytest

from training.config import from_dict
from training.features import (RULE_DENY, RULE_WARN, ClaimMasker, CueLexicon, DedupTfidf, DenseTopK, PairSimilarity,
                               build_features, fit_transform_splits)

X = pd.DataFrame({
    "claim": ["The dam has cracked", "The dam has cracked", "Prices will rise"],
    "sentence": ["Engineers confirmed the dam has cracked.", "Officials called the crack report a fabrication.",
                 "Shoppers were told to stock up before prices climb."],
})


def test_masker_hides_claim_words():
    out = ClaimMasker().fit_transform(X)
    assert out[0] == "engineers confirmed the _c_ has _c_"  # content words only
    assert "fabrication" in out[1]


def test_similarity_is_claim_aware_and_non_negative():
    f = PairSimilarity(lead_sentences=2, svd_components=2).fit(X)
    m = f.transform(X)
    assert m.shape == (3, 10) and (m >= 0).all()
    swapped = X.assign(claim=["Prices will rise"] * 3)
    assert not np.allclose(f.transform(swapped), m)  # same sentences, other claim -> other features


def test_lexicon_counts_near_claim_words():
    lex = CueLexicon(groups=("refutation", "negation"), window=3).fit(X)
    m = lex.transform(X)
    assert m.shape == (3, 6)  # per group: log count, log count near a claim word, present
    assert m[1, 0] > 0 and m[0, 0] == 0  # "fabrication" is refutation
    assert m[1, 2] == 1 and m[0, 2] == 0
    far = pd.DataFrame({"claim": ["The dam has cracked"] * 2,
                        "sentence": ["Officials called it a fabrication, days after the dam talks.",
                                     "Officials called the dam report a fabrication."]})
    near = lex.transform(far)
    assert near[0, 0] > 0 and near[0, 1] == 0  # "fabrication" is 4+ words from "dam"
    assert near[1, 1] > 0  # ... and within 3 words here
    with pytest.raises(ValueError, match="unknown lexicon group"):
        CueLexicon(groups=("nope",)).fit(X)


def test_dedup_tfidf_equals_plain_on_distinct_texts():
    texts = ["alpha beta gamma", "beta gamma delta", "alpha beta gamma"]
    d = DedupTfidf().fit(texts)
    assert d.transform(texts).shape == (3, 4)
    assert np.allclose(d.transform(texts)[0].toarray(), d.transform(texts)[2].toarray())
    # document frequency over distinct texts: the same vectors as a plain vectorizer fitted on them
    from sklearn.feature_extraction.text import TfidfVectorizer
    plain = TfidfVectorizer().fit(["alpha beta gamma", "beta gamma delta"])
    assert np.allclose(d.transform(texts).toarray(), plain.transform(texts).toarray())
    assert not np.allclose(d.transform(texts).toarray(), TfidfVectorizer().fit(texts).transform(texts).toarray())


@pytest.mark.parametrize("analyzer, ngrams", [("word", (1, 2)), ("char_wb", (2, 5))])
def test_dedup_tfidf_counts_exactly_as_scikit_learn(analyzer, ngrams):
    """Its faster transform-time counting gives scikit-learn's matrix, entry for entry (out-of-vocabulary
    terms, repeated terms, an empty text, a one-letter word; char_wb counts each distinct word's
    n-grams once and sums them, through tabs, line breaks, runs of spaces and accents)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    train = X["sentence"].tolist() + ["the dam the dam the dam", "a b c", "Ünïcode café"]
    new = ["The dam, the DAM and the crack!", "", "zzz unknown words only", "a", X["sentence"][1],
           "dam\tdam\n  the   dam ", "Ünïcode cafe\u0301 café", " ", "the dam"]
    ours = DedupTfidf(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True).fit(train)
    plain = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True).fit(sorted(set(train), key=train.index))
    a, b = ours.transform(new), plain.transform(new)
    assert (a.indptr == b.indptr).all() and (a.indices == b.indices).all() and np.array_equal(a.data, b.data)


def test_the_feature_matrix_is_stacked_exactly_as_scikit_learn_would():
    """Same arrays, layout included (sorted indices), when fitting and when transforming."""
    from sklearn.compose import ColumnTransformer
    cfg, y = from_dict({"features": {"lexicon": {"enabled": True}, "frames": {"enabled": True}}}), np.array(
        ["assert", "deny", "warn"], dtype=object)
    ours, plain = build_features(cfg), build_features(cfg)
    plain.__class__ = ColumnTransformer  # scikit-learn's own stacking
    for a, b in ((ours.fit_transform(X, y), plain.fit_transform(X, y)), (ours.transform(X), plain.transform(X))):
        assert type(a) is type(b) and a.dtype == b.dtype
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data)


def test_shared_cache_gives_exactly_the_uncached_features_and_stays_bounded():
    from training.features import base
    feats = build_features(from_dict({"features": {"frames": {"enabled": True}}})).fit(X)
    batches = [X, X.iloc[::-1], X.assign(claim=X["claim"].iloc[::-1].to_numpy()), X]
    plain = [feats.transform(b) for b in batches]
    with base.shared_cache(max_texts=2):
        for b, expected in zip(batches, plain):
            got = feats.transform(b)
            assert got.shape == expected.shape and abs(got - expected).max() == 0  # exact, not close
        owner = object()
        base.cache_for(owner).update(a=1, b=2)
        assert base.cache_for(owner) == {}  # emptied once it holds max_texts
        base.cache_for(owner).update(c=3, d=4)
        assert base.cache_for(owner) is None  # filled twice: mostly new texts, caching stops
    assert base._SHARED is None and base.cache_for(feats) is None  # off again outside the block


def test_feature_step_returns_one_row_per_pair_for_a_dataframe():
    # pyfunc gives a DataFrame: a bare vectorizer would iterate column names (2 rows, not 3)
    feats = build_features(from_dict({})).fit(X)
    assert feats.transform(X).shape[0] == 3


def test_feature_blocks_switch_off():
    full = build_features(from_dict({})).fit(X).transform(X).shape[1]
    cfg = from_dict({"features": {"char": {"enabled": False}}})
    assert build_features(cfg).fit(X).transform(X).shape[1] < full


def test_pickles_from_an_importable_module():
    feats = build_features(from_dict({})).fit(X)
    again = pickle.loads(pickle.dumps(feats))
    assert (again.transform(X) != feats.transform(X)).nnz == 0


def test_dense_top_k():
    m = DenseTopK(k=2).fit(np.array([[1, 0, 3], [0, 1, 0], [1, 0, 2]]), ["a", "b", "a"])
    assert m.transform(np.eye(3)).shape == (3, 2)


def test_rule_lexicon_is_the_issue_s():
    assert RULE_WARN.search("Officials urged calm") and RULE_WARN.search("It MAY rain")
    assert not RULE_WARN.search("mayor") and not RULE_DENY.search("cannot")
    assert RULE_DENY.search("The claim was denied") and RULE_DENY.search("a hoax")


def test_feature_cache_hits_and_code_key(tmp_path):
    cfg = from_dict({"features": {"cache": True}})
    frames = {"train": X, "dev": X}
    y = np.array(["assert", "deny", "warn"], dtype=object)
    _, m1, hit1 = fit_transform_splits(cfg, "h1", frames, y, cache_dir=tmp_path)
    _, m2, hit2 = fit_transform_splits(cfg, "h1", frames, y, cache_dir=tmp_path)
    _, _, hit3 = fit_transform_splits(cfg, "h2", frames, y, cache_dir=tmp_path)  # other data
    assert (hit1, hit2, hit3) == (False, True, False)
    assert (m1["dev"] != m2["dev"]).nnz == 0
    # the same data split another way is another matrix, never a stale cache hit
    _, m4, hit4 = fit_transform_splits(cfg, "h1", {"train": X, "dev": X.iloc[:2]}, y, cache_dir=tmp_path)
    assert not hit4 and m4["dev"].shape[0] == 2


def test_article_features_rank_related_bodies_higher():
    from training.features import ArticleFeatures
    bodies = ["The mayor resigned on Friday after the audit. She denied any wrongdoing.",
              "Heavy rain flooded the valley. Farmers lost their crops to the water."]
    A = pd.DataFrame({"claim": ["Mayor resigns after audit", "Mayor resigns after audit"], "sentence": bodies})
    f = ArticleFeatures(char_max_features=5000).fit(A)
    m = f.transform(A)
    assert m.shape[0] == 2 and m.shape[1] > ArticleFeatures.N_RELATEDNESS
    assert (m[0, :3] > m[1, :3]).all()  # word, bigram and char cosines favour the related body
    again = pickle.loads(pickle.dumps(f))
    assert np.allclose(again.transform(A), m)


def test_a_model_pickled_before_the_package_split_still_loads_and_predicts():
    # tests/data/model_03e68b7.joblib: a small default pipeline trained with the code at 03e68b7
    # (features.py as one module, DenseTopK beside the blocks); the .json holds its predictions
    import json

    import joblib

    from conftest import ROOT
    model = joblib.load(ROOT / "tests" / "data" / "model_03e68b7.joblib")
    expected = json.loads((ROOT / "tests" / "data" / "model_03e68b7.json").read_text())
    X = pd.DataFrame({"claim": expected["claims"], "sentence": expected["sentences"]})
    assert model.predict(X).tolist() == expected["labels"]
    # contractions are expanded since then; none occur in the probe, so probabilities agree
    assert np.allclose(model.predict_proba(X), expected["proba"], atol=1e-6)
