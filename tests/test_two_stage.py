"""The two-stage classifier: tuned inside train, or at a point fixed by config; its trade-off."""

import csv

import numpy as np
import pytest

from training.datasets.fnc1 import fnc_score, tradeoff
from training.two_stage import TwoStageClassifier

PARAMS = {"max_iter": 30, "min_samples_leaf": 10}


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(["unrelated", "agree", "disagree", "discuss"], n, p=[0.55, 0.2, 0.1, 0.15])
    rel = (y != "unrelated").astype(float)
    X = np.column_stack([rel + rng.normal(0, 0.3, n), rng.normal(0, 1, n),
                         (y == "agree") + rng.normal(0, 0.4, n), (y == "disagree") + rng.normal(0, 0.4, n)])
    return X, y


def _model(**kw):
    return TwoStageClassifier(stage1_columns=2, cv=3, stage1_params=PARAMS, stage2_params=PARAMS, **kw)


def test_two_stage_tunes_inside_train_and_predicts_every_label():
    X, y = _data()
    m = _model().fit(X, y, groups=np.arange(len(y)) % 30)
    assert list(m.classes_) == ["agree", "disagree", "discuss", "unrelated"]
    assert m.threshold_ in m.THRESHOLDS and len(m.weights_) == 3
    proba = m.predict_proba(X)
    assert proba.shape == (len(y), 4) and np.allclose(proba.sum(axis=1), 1)
    assert (m.predict(X) == y).mean() > 0.8
    with pytest.raises(ValueError, match="negative_label 'nope'"):
        TwoStageClassifier(negative_label="nope").fit(X, y)


def test_a_fixed_point_is_used_as_given_and_needs_no_inner_folds(monkeypatch):
    X, y = _data()
    monkeypatch.setattr(TwoStageClassifier, "_out_of_fold", lambda *a: pytest.fail("tuned although fixed"))
    m = _model(threshold=0.42, class_weights={"disagree": 5}).fit(X, y)
    assert m.threshold_ == 0.42 and dict(zip(m.stage2_.classes_, m.weights_)) == {"agree": 1, "disagree": 5, "discuss": 1}
    related, p2 = m.stage_scores(X)
    assert (m.predict(X) == m.decide(related, p2, 0.42, m.weights_)).all()
    monkeypatch.undo()
    tuned = _model().fit(X, y)
    assert (m.predict(X) == "disagree").sum() > (tuned.predict(X) == "disagree").sum()  # the weight acts
    with pytest.raises(ValueError, match=r"class_weights: unknown label\(s\) \['maybe'\]; valid: agree, disagree, discuss"):
        _model(threshold=0.4, class_weights={"maybe": 2}).fit(X, y)


def test_the_tradeoff_grid_holds_the_fitted_point_with_the_models_own_scores(tmp_path):
    X, y = _data()
    m = _model().fit(X[:400], y[:400])
    rows = tradeoff(m, X[400:], y[400:], tmp_path)
    (fitted,) = [r for r in rows if r["fitted"]]
    assert fitted["fnc_score"] == pytest.approx(fnc_score(y[400:], m.predict(X[400:])))
    assert set(rows[0]) == {"threshold", "weight_disagree", "fnc_score", "macro_f1", "f1_disagree", "fitted"}
    assert len({(r["threshold"], r["weight_disagree"]) for r in rows}) == len(rows) >= len(m.THRESHOLDS) * len(m.WEIGHTS)
    with open(tmp_path / "fnc_tradeoff.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)
    assert (tmp_path / "fnc_tradeoff.png").stat().st_size > 10_000
