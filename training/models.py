"""Classifier families, baselines and the full pipeline (features -> classifier)."""

from __future__ import annotations

from inspect import signature

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

from training.config import Config
from training.names import DEFAULT_CUE_RULE_LABELS
from training.errors import StanceError
from training.features import RULE_DENY, RULE_WARN, _pairs, build_features, dense_width
from training.stacking import StackedClassifier
from training.two_stage import TwoStageClassifier  # also where pickles of FNC-1 models before it moved look

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
    "two_stage": TwoStageClassifier,
}


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

