"""The blended stance classifier: a topic-free view and a corpus view of each pair.

Bag-of-words models fit the corpus well, hard pairs included, but on real news they lean on
word associations that do not transfer (README "Real text"). The dense meaning columns
(similarity, cue lexicons, stance frames) transfer, but cannot learn every hard pair. So:

- the *meaning* view is gradient boosting on the dense columns alone;
- the *corpus* view is a linear SVM on every column, whose out-of-fold margins (folds grouped
  by document) join the dense columns in a second booster (trees need no calibration);
- `predict_proba` blends them, `meaning_share * meaning + (1 - meaning_share) * corpus`,
  then multiplies each label by `label_scale` and renormalises: a prior correction, since the
  corpus is balanced by design and news text is not.

The dense columns are the last `dense_columns` columns of the feature matrix (the feature
step puts the dense blocks last; `training.features.dense_width` counts them).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval


class StackedClassifier(ClassifierMixin, BaseEstimator):
    _parameter_constraints = {
        "dense_columns": [Interval(Integral, 1, None, closed="left")],
        "meaning_share": [Interval(Real, 0, 1, closed="both")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "label_scale": [dict, None],
        "random_state": ["random_state"],
    }

    def __init__(self, dense_columns=1, meaning_share=0.5, C=1.0, cv=5, max_iter=100, learning_rate=0.2,
                 label_scale=None, random_state=0):
        self.dense_columns, self.meaning_share, self.label_scale = dense_columns, meaning_share, label_scale
        self.C, self.cv, self.random_state = C, cv, random_state
        self.max_iter, self.learning_rate = max_iter, learning_rate

    def _linear(self):
        return LinearSVC(C=self.C, class_weight="balanced", random_state=self.random_state)

    def _booster(self):
        return HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                              class_weight="balanced", random_state=self.random_state)

    def _dense(self, X):
        d = X[:, X.shape[1] - self.dense_columns:]
        return d.toarray() if hasattr(d, "toarray") else np.asarray(d)

    def fit(self, X, y, groups=None, sample_weight=None):
        self._validate_params()
        if self.dense_columns > X.shape[1]:
            raise ValueError(f"dense_columns={self.dense_columns} but the features have only {X.shape[1]} columns")
        y = np.asarray(y, dtype=object)
        self.classes_ = np.unique(y)
        unknown = set(self.label_scale or {}) - set(self.classes_)
        if unknown:
            raise ValueError(f"label_scale names unknown label(s) {sorted(unknown)}; labels: {list(self.classes_)}")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        X = X.tocsr() if hasattr(X, "tocsr") else X
        dense = self._dense(X)
        self.meaning_ = self._booster().fit(dense, y, sample_weight=w)
        split = (GroupKFold(self.cv).split(X, y, groups) if groups is not None
                 else StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state).split(X, y))
        oof = np.zeros((len(y), len(self.classes_)))
        for tr, va in split:  # what the linear model says about pairs (documents) it has not seen
            fold = self._linear().fit(X[tr], y[tr], sample_weight=w[tr])
            oof[np.ix_(va, self._columns(fold))] = fold.decision_function(X[va])
        self.linear_ = self._linear().fit(X, y, sample_weight=w)
        self.corpus_ = self._booster().fit(np.hstack([oof, dense]), y, sample_weight=w)
        self.scale_ = np.array([float((self.label_scale or {}).get(c, 1.0)) for c in self.classes_])
        return self

    def _columns(self, model):
        return [list(self.classes_).index(c) for c in model.classes_]

    def predict_proba(self, X):
        X = X.tocsr() if hasattr(X, "tocsr") else X
        dense = self._dense(X)
        lin = np.zeros((X.shape[0], len(self.classes_)))
        lin[:, self._columns(self.linear_)] = self.linear_.decision_function(X)
        p = (self.meaning_share * self.meaning_.predict_proba(dense)
             + (1 - self.meaning_share) * self.corpus_.predict_proba(np.hstack([lin, dense])))
        p = p * self.scale_
        return p / p.sum(axis=1, keepdims=True)

    # predict is the argmax of predict_proba: Predictor.predict_with_proba runs the boosters once
    predict_is_argmax = True

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
