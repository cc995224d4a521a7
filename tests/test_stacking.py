"""The blended classifier: shapes, the prior correction, grouped out-of-fold margins, checks,
and a pickle round trip."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from training.stacking import StackedClassifier


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 300
    y = np.array(["assert", "deny", "warn"], dtype=object)[rng.integers(0, 3, n)]
    words = sp.random(n, 40, density=0.1, random_state=1, format="csr")
    dense = rng.normal(size=(n, 4))
    dense[:, 0] += (y == "deny") * 2.0  # one dense column carries the signal
    X = sp.hstack([words, sp.csr_matrix(dense)]).tocsr()
    groups = np.repeat(np.arange(30), 10)
    return X, y, groups


def test_fit_predict_shapes_and_learning(data):
    X, y, groups = data
    clf = StackedClassifier(dense_columns=4, max_iter=30, cv=3).fit(X, y, groups=groups)
    p = clf.predict_proba(X)
    assert p.shape == (len(y), 3) and np.allclose(p.sum(axis=1), 1)
    assert list(clf.classes_) == ["assert", "deny", "warn"]
    pred = clf.predict(X)
    assert (pred == clf.classes_[p.argmax(axis=1)]).all()
    assert np.mean(pred[y == "deny"] == "deny") > 0.6  # the dense signal is used


def test_label_scale_lowers_a_label(data):
    X, y, groups = data
    plain = StackedClassifier(dense_columns=4, max_iter=30, cv=3).fit(X, y, groups=groups)
    scaled = StackedClassifier(dense_columns=4, max_iter=30, cv=3, label_scale={"warn": 0.2}).fit(X, y, groups=groups)
    assert np.mean(scaled.predict(X) == "warn") < np.mean(plain.predict(X) == "warn")
    assert np.allclose(scaled.predict_proba(X).sum(axis=1), 1)


def test_meaning_share_one_is_the_dense_booster_alone(data):
    X, y, groups = data
    clf = StackedClassifier(dense_columns=4, max_iter=30, cv=3, meaning_share=1.0).fit(X, y, groups=groups)
    assert np.allclose(clf.predict_proba(X), clf.meaning_.predict_proba(X[:, -4:].toarray()))


def test_bad_parameters_are_refused(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="dense_columns"):
        StackedClassifier(dense_columns=100).fit(X, y)
    with pytest.raises(ValueError, match="label_scale"):
        StackedClassifier(dense_columns=4, label_scale={"maybe": 0.5}).fit(X, y)
    with pytest.raises(ValueError):
        StackedClassifier(dense_columns=4, meaning_share=1.5).fit(X, y)


def test_sample_weight_and_pickle_round_trip(data):
    X, y, groups = data
    w = np.where(y == "warn", 0.1, 1.0)
    clf = StackedClassifier(dense_columns=4, max_iter=30, cv=3).fit(X, y, groups=groups, sample_weight=w)
    again = pickle.loads(pickle.dumps(clf))
    assert np.allclose(again.predict_proba(X), clf.predict_proba(X))
