import numpy as np
import pandas as pd
import pytest

from training.config import MODEL_TYPES, from_dict
from training.data import load_corpus
from training.errors import StanceError
from training.models import CueRuleClassifier, build_baseline, build_classifier, build_pipeline


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from conftest import make_corpus
    c = make_corpus(tmp_path_factory.mktemp("m"), [d for d in __import__("conftest").FIXTURE_DOCS if d.startswith("1")])
    cfg = {"data": {"path": str(c / "data" / "pairs"), "seeds_dir": str(c / "seeds")}}
    return cfg, load_corpus(from_dict(cfg)).frame("train")


@pytest.mark.parametrize("kind", MODEL_TYPES)
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
