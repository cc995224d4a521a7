import re

import pytest

from training.config import Config, flatten, from_dict, load_config
from training.errors import StanceError


def test_defaults_and_per_block_defaults():
    cfg = from_dict({"features": {"char": {"min_df": 3}}})
    assert cfg.features.char.ngram_range == (2, 5) and cfg.features.char.min_df == 3
    assert cfg.features.word.ngram_range == (1, 2)
    assert cfg.data.labels == ["assert", "deny", "warn"]


def test_default_config_file_is_valid_and_round_trips():
    cfg = load_config("configs/default.yaml")
    assert cfg.name == "stance"
    again = from_dict(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()
    flat = flatten(cfg.to_dict())
    assert flat["model.type"] == "stacked" and "features.char.ngram_range" in flat


def test_unknown_key_names_file_line_and_valid_keys(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("name: a\nmodel:\n  type: logreg\n  paramz: {}\n")
    with pytest.raises(StanceError, match=r"x\.yaml:4: model\.paramz: unknown key 'paramz'; valid keys here: type, params"):
        load_config(p)


@pytest.mark.parametrize("raw, message", [
    ({"seed": "x"}, "seed: expected an integer"),
    ({"seed": -1}, "seed: -1 is below the minimum 0"),
    ({"model": {"type": "svm"}}, "model.type: unknown value 'svm'; valid: logreg"),
    ({"features": {"word": {"ngram_range": [3, 1]}}}, "from low to high"),
    ({"features": {"word": {"enabled": "yes"}}}, "features.word.enabled: expected true or false"),
    ({"data": {"split": {"test": 0.9}}}, "train + dev + test must be 1.0"),
    ({"data": {"labels": ["a"]}}, "at least two labels"),
    ({"evaluation": {"cue_rule_labels": {"warn": "x", "deny": "deny", "other": "assert"}}}, "'x' is not a configured label"),
    ({"evaluation": {"fnc_score": True}}, "needs an 'unrelated' label"),
    ({"features": "none"}, "features: expected a mapping"),
    ({"evaluation": {"baselines": ["oracle"]}}, "unknown value 'oracle'; valid: majority, cue_rule"),
    ({"data": {"dismissal_idioms": True, "labels": ["agree", "disagree"]}, "evaluation": {"baselines": ["majority"]}},
     "data.dismissal_idioms: copies deny pairs; deny is not a label here (agree, disagree)"),
    ({"data": {"dismissal_idioms": True, "streaming": True}, "model": {"type": "sgd"}},
     "data.dismissal_idioms: copies train pairs in memory"),
])
def test_bad_values_are_named(raw, message):
    with pytest.raises(StanceError, match=re.escape(message)):
        from_dict(raw, source="c.yaml")


def test_missing_file_lists_available_configs(tmp_path):
    with pytest.raises(StanceError, match="config file not found; available: .*default.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: a\nmodel: [unclosed\n")
    with pytest.raises(StanceError, match=r"bad\.yaml:\d+: invalid YAML"):
        load_config(p)


def test_where_points_at_line(tmp_path):
    p = tmp_path / "y.yaml"
    p.write_text("name: y\nmodel:\n  type: logreg\n  params: {C: 1}\n")
    cfg = load_config(p)
    assert cfg.where("model.params.C") == f"{p}:4: model.params.C"
    # the defaults a bare Config() carries are exactly what an empty YAML file resolves to
    assert Config().to_dict() == from_dict({}).to_dict()
