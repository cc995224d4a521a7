"""Each name list has one source (training.names); every table keyed by one has exactly its keys."""

from training import names
from training.features import LEXICONS
from training.models import BASELINE_BUILDERS, DEFAULTS, FAMILIES


def test_model_tables_match_the_model_types():
    assert set(FAMILIES) == set(DEFAULTS) == set(names.MODEL_TYPES)


def test_baselines_match():
    assert set(BASELINE_BUILDERS) == set(names.BASELINES)


def test_lexicon_groups_match():
    assert tuple(LEXICONS) == names.LEXICON_GROUPS


def test_cue_rule_map_has_every_outcome():
    assert set(names.DEFAULT_CUE_RULE_LABELS) == set(names.CUE_RULE_OUTCOMES)


def test_config_uses_the_same_lists():
    from training import config
    assert config.MODEL_TYPES is names.MODEL_TYPES and config.BASELINES is names.BASELINES
    assert config.EvaluationConfig().cue_rule_labels == names.DEFAULT_CUE_RULE_LABELS
