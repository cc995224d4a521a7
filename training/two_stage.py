"""The two-stage classifier for FNC-1-style data: is the pair related at all, then how.

Stage 1 separates `negative_label` (FNC-1: unrelated) from the rest using the first
`stage1_columns` features (the article block's relatedness columns); stage 2 labels the rest
using all features. Both are gradient boosting.

The decision has two knobs: the stage-1 threshold and per-class weights on stage 2's
probabilities. By default both are tuned on out-of-fold predictions inside the training data
(grouped by `groups` when given, e.g. stories), never on held-out data. `threshold` and
`class_weights` fix them instead: a point picked from the trade-off curve that `make train`
writes for FNC-1 runs (`reports/fnc_tradeoff.*`, README "FNC-1").
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils._param_validation import Interval, StrOptions

from training.names import FNC_UNRELATED


class TwoStageClassifier(ClassifierMixin, BaseEstimator):
    """`predict` applies the threshold and weights; `predict_proba` gives the unweighted
    probabilities (P(negative) = 1 - P(related), others P(related) * stage-2 probability)."""

    _parameter_constraints = {
        "negative_label": [str],
        "stage1_columns": [Interval(Integral, 1, None, closed="left"), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "stage1_params": [dict, None],
        "stage2_params": [dict, None],
        "objective": [StrOptions({"macro_f1", "macro_f1+accuracy"})],
        "gains": [tuple, list],
        "threshold": [Interval(Real, 0, 1, closed="neither"), None],
        "class_weights": [dict, None],
    }
    WEIGHTS = (1.0, 1.25, 1.5, 1.75, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
    THRESHOLDS = tuple(np.round(np.arange(0.10, 0.71, 0.05), 2))

    def __init__(self, negative_label=FNC_UNRELATED, stage1_columns=28, cv=5, random_state=0,
                 stage1_params=None, stage2_params=None, objective="macro_f1", gains=(0.25, 0.75),
                 threshold=None, class_weights=None):
        self.objective, self.negative_label, self.stage1_columns = objective, negative_label, stage1_columns
        self.cv, self.random_state, self.gains = cv, random_state, gains
        self.stage1_params, self.stage2_params = stage1_params, stage2_params
        self.threshold, self.class_weights = threshold, class_weights

    def _models(self):
        p1 = {"max_iter": 100, "learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 100, **(self.stage1_params or {})}
        p2 = {"max_iter": 200, "learning_rate": 0.05, "max_depth": 3, "min_samples_leaf": 100, **(self.stage2_params or {})}
        return (HistGradientBoostingClassifier(random_state=self.random_state, **p1),
                HistGradientBoostingClassifier(random_state=self.random_state, **p2))

    def fit(self, X, y, groups=None):
        from sklearn.base import clone

        self._validate_params()
        X, y = np.asarray(X), np.asarray(y, dtype=object)
        self.classes_ = np.unique(y)
        if self.negative_label not in self.classes_:
            raise ValueError(f"negative_label {self.negative_label!r} is not among the labels {list(self.classes_)}")
        k = self.stage1_columns or X.shape[1]
        pos = y != self.negative_label
        m1, m2 = self._models()
        self.stage1_ = clone(m1).fit(X[:, :k], pos)
        self.stage2_ = clone(m2).fit(X[pos], y[pos])
        names = self.stage2_.classes_
        fixed = self._fixed_weights(names)
        if fixed is not None and self.threshold is not None:  # nothing to tune: no inner folds
            self.weights_, self.threshold_ = fixed, float(self.threshold)
            return self
        oof1, oof2 = self._out_of_fold(X, y, pos, groups, m1, m2, k)
        w, acc2 = self._tune_weights(y[pos], oof2[pos], names, fixed)
        self.weights_ = w
        # threshold maximising the expected score of the decision on OOF data: `gains` are what a
        # right negative-vs-rest call and a right label earn (the FNC-1 score's 0.25 and 0.75 by default)
        g_neg, g_label = self.gains
        neg = ~pos
        gains = [np.sum(np.where(neg, g_neg * (oof1 < t), (oof1 >= t) * (g_neg + g_label * acc2))) for t in self.THRESHOLDS]
        self.threshold_ = (float(self.threshold) if self.threshold is not None
                           else float(self.THRESHOLDS[int(np.argmax(gains))]))
        return self

    def _fixed_weights(self, names):
        if self.class_weights is None:
            return None
        unknown = set(self.class_weights) - set(names)
        if unknown:
            raise ValueError(f"class_weights: unknown label(s) {sorted(unknown)}; valid: {', '.join(map(str, names))}")
        return np.array([float(self.class_weights.get(c, 1.0)) for c in names])

    def _out_of_fold(self, X, y, pos, groups, m1, m2, k):
        from sklearn.base import clone
        from sklearn.model_selection import GroupKFold, StratifiedKFold
        split = (GroupKFold(self.cv).split(X, y, groups) if groups is not None
                 else StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state).split(X, y))
        oof1 = np.zeros(len(y))
        oof2 = np.zeros((len(y), len(self.stage2_.classes_)))
        for tr, va in split:
            oof1[va] = clone(m1).fit(X[tr, :k], pos[tr]).predict_proba(X[va, :k])[:, 1]
            trp = tr[pos[tr]]
            fold2 = clone(m2).fit(X[trp], y[trp])
            cols = [list(self.stage2_.classes_).index(c) for c in fold2.classes_]
            oof2[np.ix_(va, cols)] = fold2.predict_proba(X[va])
        return oof1, oof2

    def _tune_weights(self, yr, pr, names, fixed):
        """Stage-2 weights by coordinate ascent on OOF macro-F1 (the commonest class keeps 1),
        or the fixed ones; with their OOF accuracy."""
        from sklearn.metrics import f1_score

        def score(weights):
            p = names[np.argmax(pr * weights, axis=1)]
            acc = np.mean(p == yr)
            return f1_score(yr, p, average="macro") + (acc if self.objective == "macro_f1+accuracy" else 0.0), acc

        if fixed is not None:
            return fixed, score(fixed)[1]
        w = np.ones(len(names))
        ref = int(np.argmax([np.sum(yr == c) for c in names]))
        for _ in range(2):
            for j in range(len(names)):
                if j != ref:
                    w[j] = max(self.WEIGHTS, key=lambda v: (score(np.where(np.arange(len(w)) == j, v, w))[0], -v))
        return w, score(w)[1]

    def stage_scores(self, X):
        """(P(related), stage-2 probabilities) per row: what every decision is made from."""
        X = np.asarray(X)
        k = self.stage1_columns or X.shape[1]
        return self.stage1_.predict_proba(X[:, :k])[:, 1], self.stage2_.predict_proba(X)

    def decide(self, related, p2, threshold=None, weights=None):
        """Labels from stage scores at a threshold and stage-2 weights (default: the fitted ones)."""
        t = self.threshold_ if threshold is None else threshold
        w = self.weights_ if weights is None else weights
        second = self.stage2_.classes_[np.argmax(p2 * w, axis=1)]
        return np.where(related < t, self.negative_label, second).astype(object)

    def predict_proba(self, X):
        related, p2 = self.stage_scores(X)
        out = np.zeros((len(related), len(self.classes_)))
        idx = list(self.classes_)
        out[:, idx.index(self.negative_label)] = 1 - related
        for j, c in enumerate(self.stage2_.classes_):
            out[:, idx.index(c)] = related * p2[:, j]
        return out

    def predict(self, X):
        return self.decide(*self.stage_scores(X))
