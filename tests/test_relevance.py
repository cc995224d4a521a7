"""Relevance: candidate pairs from documents, the two-stage model, the threshold, and the
relevance stage of a trained model directory (save, load, score)."""

import json

import numpy as np
import pandas as pd
import pytest

from training.errors import StanceError
from training.predict import load_predictor
from training.relevance import RelevanceModel, best_threshold, document_pairs, other_document_pairs

CLAIM = "The dam on the Vell river has cracked."
OTHER = "The mayor will resign this week."
DOC = ("Dam fears grow on the Vell\n"
       "Engineers confirmed on Monday that the dam on the Vell river has cracked. Residents were moved.\n"
       "The mayor denied reports that she will resign. Council staff said the budget was balanced.\n")


def _frame(rows):
    return pd.DataFrame(rows, columns=["group", "claim", "sentence", "stance"])


def test_document_pairs_cover_every_sentence_against_each_claim(tmp_path):
    (tmp_path / "d1.txt").write_text(DOC, encoding="utf-8")
    frame = _frame([("d1", CLAIM, "Engineers confirmed on Monday that the dam on the Vell river has cracked.", "assert"),
                    ("d1", OTHER, "The mayor denied reports that she will resign.", "deny")])
    pairs = document_pairs(frame, tmp_path)
    assert len(pairs) == 2 * 5  # 2 claims x 5 split sentences (headline included)
    rel = {(p["claim"], p["index"]): p["relevant"] for p in pairs}
    assert rel[(CLAIM, 1)] == 1 and rel[(OTHER, 3)] == 1
    assert sum(rel.values()) == 2  # the headline, "Residents were moved." and the budget are negatives
    assert [p["index"] for p in pairs if p["claim"] == CLAIM] == [0, 1, 2, 3, 4]


def test_other_document_negatives_never_come_from_the_claims_document():
    pairs = [{"doc": d, "claim": f"claim {d}", "sentence": f"{d} sentence {i}", "index": i, "relevant": 0}
             for d in "ab" for i in range(3)]
    other = other_document_pairs(pairs, 4, seed=1)
    assert len(other) == 8 and all(o["sentence"][0] != o["doc"] and o["index"] == -1 for o in other)
    assert other == other_document_pairs(pairs, 4, seed=1)  # seeded


def test_best_threshold_maximises_f1():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.2, 0.6, 0.7, 0.9, 0.65])
    assert best_threshold(y, p) == pytest.approx(0.6)
    assert best_threshold(np.ones(3), p[:3]) == 0.5  # one class: no curve, the neutral cut


def _toy(n_docs=40):
    """Documents where the claim's sentences share its words and sit together."""
    rows = []
    for d in range(n_docs):
        claim = f"Factory {d} polluted the river with dye"
        sents = ([f"Residents of town {d} watched the match.", f"The weather in town {d} stayed mild."] +
                 [f"Tests showed factory {d} dye in the river, officials said.",
                  f"The river turned red near factory {d}.", f"Factory {d} denied dumping dye."] +
                 [f"A bakery in town {d} opened.", f"Traffic in town {d} was light."])
        for i, s in enumerate(sents):
            rows.append({"doc": f"d{d}", "claim": claim, "sentence": s, "index": i, "relevant": int(2 <= i <= 4)})
    return pd.DataFrame(rows)


def test_model_fits_and_separates_a_clear_case():
    X = _toy()
    m = RelevanceModel(folds=2, max_iter=30, random_state=0)
    assert m.fit(X, X["relevant"]) is m
    p = m.in_document(X)
    assert p.shape == (len(X),) and ((0 <= p) & (p <= 1)).all()
    assert p[X["relevant"] == 1].mean() > p[X["relevant"] == 0].mean() + 0.3
    alone = m.relevance(X[["claim", "sentence"]])  # pairwise: no doc or index needed
    assert alone.shape == (len(X),)
    assert m.predict_proba(X).shape == (len(X), 2)


def test_coverage_reads_meaning_unless_told_not_to_or_pickled_before():
    from training.features.vectors import COLUMNS
    from training.relevance.model import ClaimCoverage
    X = _toy(3)
    assert ClaimCoverage().fit(X).transform(X).shape == (len(X), 10 + COLUMNS)
    assert ClaimCoverage(vectors=False).fit(X).transform(X).shape == (len(X), 10)
    old = ClaimCoverage().fit(X)
    del old.__dict__["vectors"]  # what a model pickled before the vectors unpickles to
    assert old.transform(X).shape == (len(X), 10)


def test_model_rejects_bad_parameters():
    X = _toy(4)
    with pytest.raises(ValueError, match="folds"):
        RelevanceModel(folds=1).fit(X, X["relevant"])


# --- the relevance stage of a trained model -------------------------------------------------

def test_trained_model_stores_relevance_with_threshold_and_metrics(trained):
    meta = json.loads((trained["model"] / "metadata.json").read_text())
    rel = meta["relevance"]
    assert rel["file"] == "relevance.joblib" and (trained["model"] / rel["file"]).is_file()
    assert 0 < rel["threshold"] < 1
    assert meta["metrics"]["relevance_threshold"] == rel["threshold"]
    for k in ("relevance_test_roc_auc", "relevance_test_precision", "relevance_test_recall", "relevance_dev_roc_auc"):
        assert 0 <= meta["metrics"][k] <= 1, k


def test_predictor_relevance_round_trip(trained):
    p = load_predictor(trained["model"])
    assert p.has_relevance and 0 < p.relevance_threshold < 1
    claims = [CLAIM] * 3
    sentences = ["Engineers confirmed that the dam on the Vell river has cracked.",
                 "The bakery on Mill Street sold out of bread.", "Officials said the dam was intact."]
    a = p.relevance(claims, sentences)
    b = p.relevance(claims, sentences, document=True)
    assert a.shape == b.shape == (3,) and ((0 <= a) & (a <= 1)).all() and ((0 <= b) & (b <= 1)).all()
    assert a[0] > a[1]  # the sentence about the claim outranks the bakery
    assert np.allclose(load_predictor(trained["model"]).relevance(claims, sentences), a)  # reload: same
    assert p.relevance([], []).shape == (0,)
    with pytest.raises(StanceError, match="equal length"):
        p.relevance(claims, sentences[:1])


def test_tampered_relevance_file_is_refused(trained, tmp_path):
    import shutil
    d = tmp_path / "m"
    shutil.copytree(trained["model"], d)
    with open(d / "relevance.joblib", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(StanceError, match="relevance.joblib: checksum mismatch"):
        load_predictor(d).relevance(["a"], ["b"])


def test_model_without_relevance_says_so(trained, tmp_path):
    import shutil
    d = tmp_path / "m"
    shutil.copytree(trained["model"], d)
    meta = json.loads((d / "metadata.json").read_text())
    del meta["relevance"]
    (d / "metadata.json").write_text(json.dumps(meta))
    p = load_predictor(d)
    assert not p.has_relevance
    with pytest.raises(StanceError, match="no relevance stage"):
        p.relevance(["a"], ["b"])


def test_paragraphs_count_and_one_long_paragraph_counts_as_unknown(trained):
    p = load_predictor(trained["model"])
    sentences = [f"Officials said the dam on the Vell river had cracked in place {k}." if k % 3 == 0 else
                 f"The bakery on street {k} sold out of bread." for k in range(14)]
    claims = [CLAIM] * len(sentences)
    unknown = p.relevance(claims, sentences, document=True)
    paragraphs = [k // 3 for k in range(14)]
    assert not np.allclose(p.relevance(claims, sentences, document=True, paragraphs=paragraphs), unknown)
    # a 14-sentence "paragraph" (an article without line breaks) is read as paragraphs unknown
    assert np.allclose(p.relevance(claims, sentences, document=True, paragraphs=[0] * 14), unknown)
    # one sentence a paragraph (wire style, unlike any corpus document) is read as unknown too
    assert np.allclose(p.relevance(claims, sentences, document=True, paragraphs=list(range(14))), unknown)
    mostly_one = [0, 0] + list(range(1, 13))  # 12 of 13 paragraphs a single sentence
    assert np.allclose(p.relevance(claims, sentences, document=True, paragraphs=mostly_one), unknown)
    with pytest.raises(StanceError, match="one paragraph number per pair"):
        p.relevance(claims, sentences, paragraphs=paragraphs)
