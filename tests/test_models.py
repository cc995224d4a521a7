import numpy as np
import pandas as pd
import pytest

from training.config import MODEL_TYPES, from_dict
from training.datasets import load_corpus
from training.errors import StanceError
from training.models import CueRuleClassifier, build_baseline, build_classifier, build_pipeline


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from conftest import FIXTURE_DOCS, make_corpus
    c = make_corpus(tmp_path_factory.mktemp("m"), [d for d in FIXTURE_DOCS if d.startswith("1")])
    cfg = {"data": {"path": str(c / "data" / "pairs"), "seeds_dir": str(c / "seeds")}}
    return cfg, load_corpus(from_dict(cfg)).frame("train")


@pytest.mark.parametrize("kind", [k for k in MODEL_TYPES if k != "two_stage"])  # two_stage: below
def test_every_family_fits_and_gives_probabilities(small, kind):
    raw, df = small
    params = {"max_iter": 30} if kind == "hist_gb" else {}
    cfg = from_dict({**raw, "model": {"type": kind, "params": params}})
    pipe = build_pipeline(cfg).fit(df, df["stance"])
    proba = pipe.predict_proba(df.head(5))
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1)
    assert (pipe.predict(df) == df["stance"]).mean() > 0.6  # learns the training data at all


def test_unknown_model_param_lists_valid_ones():
    cfg = from_dict({"model": {"type": "logreg", "params": {"Cc": 1}}}, source="m.yaml", lines={"model.params.Cc": 9})
    with pytest.raises(StanceError, match=r"m\.yaml:9: model\.params\.Cc: unknown parameter 'Cc' for logreg; valid: .*C, "):
        build_classifier(cfg)


def test_bad_model_param_value_is_a_config_error():
    with pytest.raises(StanceError, match="model.params"):
        build_classifier(from_dict({"model": {"type": "logreg", "params": {"C": -1}}}))


def test_cue_rule_follows_the_lexicon_order():
    X = pd.DataFrame({"claim": ["c"] * 4, "sentence": [
        "Officials warned the report was false.", "The ministry denied it.", "Crews repaired the line.", "It may not."]})
    rule = CueRuleClassifier().fit(X, ["assert", "deny", "warn", "warn"])
    assert list(rule.predict(X)) == ["warn", "deny", "assert", "warn"]
    assert rule.predict_proba(X).shape == (4, 3)


def test_baselines_map_to_configured_labels():
    cfg = from_dict({"data": {"labels": ["pro", "con", "alarm"]},
                     "evaluation": {"cue_rule_labels": {"warn": "alarm", "deny": "con", "other": "pro"}}})
    X = pd.DataFrame({"claim": ["c"], "sentence": ["They denied it."]})
    assert list(build_baseline("cue_rule", cfg).fit(X, ["con"]).predict(X)) == ["con"]
    assert list(build_baseline("majority", cfg).fit(X, ["pro"]).predict(X)) == ["pro"]


def test_two_stage_config_needs_article_features():
    with pytest.raises(StanceError, match="two_stage needs the dense article block alone"):
        from_dict({"model": {"type": "two_stage"}})


ARTICLE_ONLY = {"features": {"article": {"enabled": True}, "word": {"enabled": False}, "char": {"enabled": False},
                             "masked": {"enabled": False}},
                "data": {"labels": ["agree", "unrelated"]}, "evaluation": {"baselines": ["majority"]}}


@pytest.mark.parametrize("raw, message", [
    ({"model": {"type": "mlp", "params": {"hidden_layer_sizes": "big"}}}, "hidden_layer_sizes: expected a positive integer"),
    ({"model": {"type": "mlp", "params": {"hidden_layer_sizes": [64, 0]}}}, "hidden_layer_sizes: expected a positive integer"),
    ({"model": {"type": "hist_gb", "params": {"dense_features": "many"}}}, "dense_features: expected a positive integer"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"objective": "fnc"}}}, "'objective' parameter"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"stage1_params": {"depth": 3}}}},
     "stage1_params.depth: unknown HistGradientBoosting parameter 'depth'"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"stage2_params": 5}}}, "stage2_params: expected a mapping"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"class_weights": {"unrelated": 2}}}},
     "class_weights: expected a positive weight per label among agree, got 'unrelated': 2"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"class_weights": {"agree": 0}}}},
     "class_weights: expected a positive weight per label among agree, got 'agree': 0"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"class_weights": 4}}},
     "class_weights: expected a mapping of label to weight, got 4"),
    ({**ARTICLE_ONLY, "model": {"type": "two_stage", "params": {"threshold": 1.5}}}, "'threshold' parameter"),
    ({"features": {"frames": {"enabled": True}}, "model": {"type": "stacked", "params": {"dense_columns": 3}}},
     "dense_columns: set by the feature blocks"),
])
def test_bad_model_params_are_config_errors_not_tracebacks(raw, message):
    # regression: these failed only at fit time, with a traceback
    with pytest.raises(StanceError, match=message):
        build_classifier(from_dict(raw))


def test_mlp_takes_a_single_layer_size():
    clf = build_classifier(from_dict({"model": {"type": "mlp", "params": {"hidden_layer_sizes": 64}}}))
    assert clf.hidden_layer_sizes == (64,)


def test_stacked_gets_the_dense_width_of_its_blocks():
    from training.features import dense_width
    cfg = from_dict({"features": {"frames": {"enabled": True}}, "model": {"type": "stacked"}})
    assert build_classifier(cfg).dense_columns == dense_width(cfg) > 0
    with pytest.raises(StanceError, match="stacked needs a dense block"):
        build_classifier(from_dict({"features": {"similarity": {"enabled": False}, "lexicon": {"enabled": False}},
                                    "model": {"type": "stacked"}}))


def test_stacked_label_scale_names_configured_labels():
    with pytest.raises(StanceError, match="label_scale.maybe: 'maybe' is not a configured label"):
        from_dict({"model": {"type": "stacked", "params": {"label_scale": {"maybe": 0.5}}}})


def test_calibration_folds_keep_documents_together():
    # regression: CalibratedClassifierCV's cv=3 split pairs of one document across folds
    from training.models import fit_classifier
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = np.array(["assert", "deny", "warn"] * 20, dtype=object)
    groups = np.repeat(np.arange(12), 5)
    clf = fit_classifier(build_classifier(from_dict({})), X, y, groups)
    assert isinstance(clf.cv, list) and len(clf.cv) == 3
    for train, test in clf.cv:
        assert not set(groups[train]) & set(groups[test])
    from training.models import TwoStageClassifier
    with pytest.raises(StanceError, match="TwoStageClassifier takes no sample weights"):
        fit_classifier(TwoStageClassifier(negative_label="warn"), X, y, sample_weight=np.ones(60))
