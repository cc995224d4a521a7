"""Classifier families, baselines and the full pipeline (features -> classifier)."""

from __future__ import annotations

from inspect import signature
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GroupKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval, StrOptions

from training.config import Config
from training.names import DEFAULT_CUE_RULE_LABELS, FNC_UNRELATED
from training.errors import StanceError
from training.features import RULE_DENY, RULE_WARN, _pairs, build_features, dense_width
from training.stacking import StackedClassifier

# Defaults per family; config `model.params` overrides them. `dense_features` (hist_gb only)
# is ours: how many chi2-best columns are densified for the trees.
DEFAULTS = {
    "logreg": {"C": 10.0, "class_weight": "balanced", "max_iter": 3000},
    "linear_svm": {"C": 0.5, "class_weight": "balanced"},
    "complement_nb": {"alpha": 0.3},
    "hist_gb": {"max_iter": 300, "learning_rate": 0.1, "class_weight": "balanced", "dense_features": 3000},
    "mlp": {"hidden_layer_sizes": [64], "alpha": 1e-3, "max_iter": 60, "early_stopping": True},
    "two_stage": {},
    "stacked": {"meaning_share": 0.5, "C": 1.0, "cv": 5, "max_iter": 100, "learning_rate": 0.2},
    "sgd": {"loss": "log_loss", "alpha": 1e-5, "class_weight": "balanced"},  # streamed: training/streaming.py
}
FAMILIES = {
    "logreg": LogisticRegression, "linear_svm": LinearSVC, "complement_nb": ComplementNB,
    "hist_gb": HistGradientBoostingClassifier, "mlp": MLPClassifier, "stacked": StackedClassifier, "sgd": SGDClassifier,
}  # + "two_stage", registered below its class


class DenseTopK(BaseEstimator, TransformerMixin):
    """Keep the k columns with the highest chi2 score and return a dense array
    (HistGradientBoosting needs dense input; all our features are non-negative)."""

    def __init__(self, k=2000):
        self.k = k

    def fit(self, X, y):
        from sklearn.feature_selection import chi2
        scores, _ = chi2(X, y)
        scores = np.nan_to_num(scores, nan=0.0)
        self.columns_ = np.sort(np.argsort(-scores, kind="stable")[: self.k])
        return self

    def transform(self, X):
        X = X[:, self.columns_]
        return X.toarray() if sp.issparse(X) else np.asarray(X)


def build_classifier(cfg: Config):
    kind = cfg.model.type
    params = {**DEFAULTS[kind], **cfg.model.params}
    dense_k = params.pop("dense_features", None) if kind == "hist_gb" else None
    cls = FAMILIES[kind]
    valid = sorted(cls().get_params())
    for k in params:
        if k not in valid:
            extra = ", dense_features" if kind == "hist_gb" else ""
            raise StanceError(f"{cfg.where('model.params.' + str(k))}: unknown parameter {k!r} for {kind}; "
                              f"valid: {', '.join(valid)}{extra}")
    if "random_state" in valid:
        params.setdefault("random_state", cfg.seed)
    _check_special(cfg, kind, params, dense_k)
    if kind == "mlp":
        h = params["hidden_layer_sizes"]
        params["hidden_layer_sizes"] = (h,) if isinstance(h, int) else tuple(h)
    if kind == "stacked":
        if "dense_columns" in cfg.model.params:
            raise StanceError(f"{cfg.where('model.params.dense_columns')}: set by the feature blocks, not by hand; remove it")
        params["dense_columns"] = dense_width(cfg)
        if not params["dense_columns"]:
            raise StanceError(f"{cfg.where('model.type')}: stacked needs a dense block: enable features.similarity, "
                              f"features.lexicon or features.frames")
    try:
        clf = cls(**params)
        if hasattr(clf, "_parameter_constraints"):
            clf._validate_params()  # sklearn checks types and ranges; surface them as config errors now
    except (TypeError, ValueError) as e:
        raise StanceError(f"{cfg.where('model.params')}: {e}".splitlines()[0]) from None
    if kind == "linear_svm" or cfg.model.calibrate:
        # LinearSVC has no predict_proba; sigmoid calibration is the safe choice on small data.
        # ensemble=False keeps one classifier (calibrated on cross-validated scores) instead of
        # three: same CV macro-F1 here, a third of the model to load and to run per pair.
        clf = CalibratedClassifierCV(clf, method="sigmoid", cv=3, ensemble=False)
    if dense_k:
        clf = Pipeline([("dense", DenseTopK(k=dense_k)), ("clf", clf)])
    return clf


def _check_special(cfg: Config, kind: str, params: dict, dense_k) -> None:
    """Parameters that scikit-learn would only reject at fit time, as one-line config errors."""
    where = lambda k: cfg.where(f"model.params.{k}")  # noqa: E731
    if kind == "mlp":
        h = params["hidden_layer_sizes"]
        ok = (isinstance(h, int) and not isinstance(h, bool) and h > 0) or (
            isinstance(h, (list, tuple)) and h and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in h))
        if not ok:
            raise StanceError(f"{where('hidden_layer_sizes')}: expected a positive integer or a list of them "
                              f"like [64] or [128, 64], got {h!r}")
    if kind == "hist_gb" and dense_k is not None and (isinstance(dense_k, bool) or not isinstance(dense_k, int) or dense_k < 1):
        raise StanceError(f"{where('dense_features')}: expected a positive integer (columns kept for the trees), got {dense_k!r}")
    if kind == "two_stage":
        valid = set(HistGradientBoostingClassifier().get_params())
        for key in ("stage1_params", "stage2_params"):
            sub = params.get(key)
            if sub is None:
                continue
            if not isinstance(sub, dict):
                raise StanceError(f"{where(key)}: expected a mapping of HistGradientBoosting parameters, got {sub!r}")
            for k in sub:
                if k not in valid:
                    raise StanceError(f"{where(key + '.' + str(k))}: unknown HistGradientBoosting parameter {k!r}; "
                                      f"valid: {', '.join(sorted(valid))}")


def fit_classifier(clf, X, y, groups=None, sample_weight=None):
    """Fit with what the classifier can use: document groups for its inner folds (`groups` for
    stacked and two_stage; grouped calibration folds for a CalibratedClassifierCV, so a document
    never calibrates its own scores) and sample weights."""
    params = signature(clf.fit).parameters
    kwargs = {}
    if groups is not None and "groups" in params:
        kwargs["groups"] = groups
    elif groups is not None and isinstance(clf, CalibratedClassifierCV) and len(set(groups)) >= 3:
        clf.set_params(cv=list(GroupKFold(3).split(X, y, groups)))
    if sample_weight is not None:
        if "sample_weight" not in params:
            raise StanceError(f"data.hard_weight: {type(clf).__name__} takes no sample weights; "
                              f"set data.hard_weight: 1.0 or choose another model.type")
        kwargs["sample_weight"] = sample_weight
    return clf.fit(X, y, **kwargs)


def build_pipeline(cfg: Config, memory=None) -> Pipeline:
    return Pipeline([("features", build_features(cfg)), ("clf", build_classifier(cfg))], memory=memory)


class CueRuleClassifier(ClassifierMixin, BaseEstimator):
    """The cue-word rule baseline: a warn cue -> `warn`; else a deny cue -> `deny`; else
    `other`. `label_map` says which configured label each outcome stands for."""

    def __init__(self, label_map=None):
        self.label_map = label_map

    def fit(self, X, y):
        self.classes_ = np.unique(np.asarray(y, dtype=object))
        m = self.label_map or DEFAULT_CUE_RULE_LABELS
        self.map_ = {k: v for k, v in m.items()}
        return self

    def predict(self, X):
        _, sentences = _pairs(X)
        m = self.map_
        return np.array([m["warn"] if RULE_WARN.search(s) else m["deny"] if RULE_DENY.search(s) else m["other"]
                         for s in sentences], dtype=object)

    def predict_proba(self, X):
        pred = self.predict(X)
        return (pred[:, None] == self.classes_[None, :]).astype(float)


BASELINE_BUILDERS = {
    "majority": lambda cfg: DummyClassifier(strategy="most_frequent"),
    "cue_rule": lambda cfg: CueRuleClassifier(label_map=dict(cfg.evaluation.cue_rule_labels)),
}  # keys: training.names.BASELINES


def build_baseline(name: str, cfg: Config):
    if name not in BASELINE_BUILDERS:
        raise StanceError(f"{cfg.where('evaluation.baselines')}: unknown baseline {name!r}; "
                          f"valid: {', '.join(BASELINE_BUILDERS)}")
    return BASELINE_BUILDERS[name](cfg)


class TwoStageClassifier(ClassifierMixin, BaseEstimator):
    """Stage 1 separates `negative_label` (FNC-1: unrelated) from the rest using the first
    `stage1_columns` features; stage 2 labels the rest using all features. Both are gradient
    boosting. Per-class weights for stage 2 and the stage-1 threshold are tuned on
    out-of-fold predictions inside the training data (grouped by `groups` when given, e.g.
    stories), never on held-out data.

    `predict` applies the tuned threshold and weights; `predict_proba` gives the untuned
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
    }
    WEIGHTS = (1.0, 1.25, 1.5, 1.75, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
    THRESHOLDS = tuple(np.round(np.arange(0.10, 0.71, 0.05), 2))

    def __init__(self, negative_label=FNC_UNRELATED, stage1_columns=28, cv=5, random_state=0,
                 stage1_params=None, stage2_params=None, objective="macro_f1", gains=(0.25, 0.75)):
        self.objective, self.negative_label, self.stage1_columns = objective, negative_label, stage1_columns
        self.cv, self.random_state, self.gains = cv, random_state, gains
        self.stage1_params, self.stage2_params = stage1_params, stage2_params

    def _models(self):
        p1 = {"max_iter": 100, "learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 100, **(self.stage1_params or {})}
        p2 = {"max_iter": 200, "learning_rate": 0.05, "max_depth": 3, "min_samples_leaf": 100, **(self.stage2_params or {})}
        return (HistGradientBoostingClassifier(random_state=self.random_state, **p1),
                HistGradientBoostingClassifier(random_state=self.random_state, **p2))

    def fit(self, X, y, groups=None):
        from sklearn.base import clone
        from sklearn.metrics import f1_score
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if self.objective not in ("macro_f1", "macro_f1+accuracy"):
            raise ValueError(f"objective {self.objective!r}: use 'macro_f1' or 'macro_f1+accuracy'")
        X, y = np.asarray(X), np.asarray(y, dtype=object)
        self.classes_ = np.unique(y)
        if self.negative_label not in self.classes_:
            raise ValueError(f"negative_label {self.negative_label!r} is not among the labels {list(self.classes_)}")
        k = self.stage1_columns or X.shape[1]
        pos = y != self.negative_label
        m1, m2 = self._models()
        self.stage1_ = clone(m1).fit(X[:, :k], pos)
        self.stage2_ = clone(m2).fit(X[pos], y[pos])
        # out-of-fold probabilities inside train, for the threshold and the class weights
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
        yr, pr = y[pos], oof2[pos]
        names = self.stage2_.classes_
        w = np.ones(len(names))
        ref = int(np.argmax([np.sum(yr == c) for c in names]))  # the commonest class keeps weight 1

        def score(weights):
            p = names[np.argmax(pr * weights, axis=1)]
            acc = np.mean(p == yr)
            return f1_score(yr, p, average="macro") + (acc if self.objective == "macro_f1+accuracy" else 0.0), acc

        for _ in range(2):  # coordinate ascent over the other classes' weights
            for j in range(len(names)):
                if j == ref:
                    continue
                best = max(self.WEIGHTS, key=lambda v: (score(np.where(np.arange(len(w)) == j, v, w))[0], -v))
                w[j] = best
        self.weights_ = w
        acc2 = score(w)[1]
        neg = ~pos
        # threshold maximising the expected score of the decision on OOF data: `gains` are what a
        # right negative-vs-rest call and a right label earn (the FNC-1 score's 0.25 and 0.75 by default)
        g_neg, g_label = self.gains
        gains = [np.sum(np.where(neg, g_neg * (oof1 < t), (oof1 >= t) * (g_neg + g_label * acc2))) for t in self.THRESHOLDS]
        self.threshold_ = float(self.THRESHOLDS[int(np.argmax(gains))])
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        k = self.stage1_columns or X.shape[1]
        related = self.stage1_.predict_proba(X[:, :k])[:, 1]
        p2 = self.stage2_.predict_proba(X)
        out = np.zeros((len(X), len(self.classes_)))
        idx = list(self.classes_)
        out[:, idx.index(self.negative_label)] = 1 - related
        for j, c in enumerate(self.stage2_.classes_):
            out[:, idx.index(c)] = related * p2[:, j]
        return out

    def predict(self, X):
        X = np.asarray(X)
        k = self.stage1_columns or X.shape[1]
        related = self.stage1_.predict_proba(X[:, :k])[:, 1]
        second = self.stage2_.classes_[np.argmax(self.stage2_.predict_proba(X) * self.weights_, axis=1)]
        return np.where(related < self.threshold_, self.negative_label, second).astype(object)


FAMILIES["two_stage"] = TwoStageClassifier
