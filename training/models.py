"""Classifier families, baselines and the full pipeline (features -> classifier)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from training.config import Config
from training.errors import StanceError
from training.features import RULE_DENY, RULE_WARN, DenseTopK, _pairs, build_features

# Defaults per family; config `model.params` overrides them. `dense_features` (hist_gb only)
# is ours: how many chi2-best columns are densified for the trees.
DEFAULTS = {
    "logreg": {"C": 10.0, "class_weight": "balanced", "max_iter": 3000},
    "linear_svm": {"C": 0.5, "class_weight": "balanced"},
    "complement_nb": {"alpha": 0.3},
    "hist_gb": {"max_iter": 300, "learning_rate": 0.1, "class_weight": "balanced", "dense_features": 3000},
    "mlp": {"hidden_layer_sizes": [64], "alpha": 1e-3, "max_iter": 60, "early_stopping": True},
}
FAMILIES = {
    "logreg": LogisticRegression, "linear_svm": LinearSVC, "complement_nb": ComplementNB,
    "hist_gb": HistGradientBoostingClassifier, "mlp": MLPClassifier,
}


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
    if kind == "mlp":
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    try:
        clf = cls(**params)
        clf._validate_params()  # sklearn checks types and ranges; surface them as config errors now
    except (TypeError, ValueError) as e:
        raise StanceError(f"{cfg.where('model.params')}: {e}".splitlines()[0]) from None
    if kind == "linear_svm" or cfg.model.calibrate:
        # LinearSVC has no predict_proba; sigmoid calibration is the safe choice on small data.
        clf = CalibratedClassifierCV(clf, method="sigmoid", cv=3)
    if dense_k:
        clf = Pipeline([("dense", DenseTopK(k=dense_k)), ("clf", clf)])
    return clf


def build_pipeline(cfg: Config, memory=None) -> Pipeline:
    return Pipeline([("features", build_features(cfg)), ("clf", build_classifier(cfg))], memory=memory)


class CueRuleClassifier(ClassifierMixin, BaseEstimator):
    """The cue-word rule baseline: a warn cue -> `warn`; else a deny cue -> `deny`; else
    `other`. `label_map` says which configured label each outcome stands for."""

    def __init__(self, label_map=None):
        self.label_map = label_map

    def fit(self, X, y):
        self.classes_ = np.unique(np.asarray(y, dtype=object))
        m = self.label_map or {"warn": "warn", "deny": "deny", "other": "assert"}
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


def build_baseline(name: str, cfg: Config):
    if name == "majority":
        return DummyClassifier(strategy="most_frequent")
    if name == "cue_rule":
        return CueRuleClassifier(label_map=dict(cfg.evaluation.cue_rule_labels))
    raise StanceError(f"{cfg.where('evaluation.baselines')}: unknown baseline {name!r}; valid: majority, cue_rule")
