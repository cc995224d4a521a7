"""The name lists that configs are checked against: one source of truth for each.

config.py validates with these; models.py and features/ build their tables keyed by them, and
tests/test_names.py checks that every table has exactly these keys. Nothing heavy is imported
here, so the config can be checked without scikit-learn.
"""

MODEL_TYPES = ("logreg", "linear_svm", "complement_nb", "hist_gb", "mlp", "two_stage", "stacked", "sgd")
BASELINES = ("majority", "cue_rule")
LEXICON_GROUPS = ("refutation", "caution", "attribution", "negation", "hedging", "support", "limiting", "contrast")
DATA_FORMATS = ("jsonl", "fnc1")
# FNC-1's label for a headline and body about different stories: the FNC-1 score and the
# two-stage model's first stage are built around it.
FNC_UNRELATED = "unrelated"
# The cue-word rule's three outcomes (training.features.RULE_WARN / RULE_DENY, else "other").
CUE_RULE_OUTCOMES = ("warn", "deny", "other")
# ... and the configured label each outcome stands for by default (evaluation.cue_rule_labels).
DEFAULT_CUE_RULE_LABELS = {"warn": "warn", "deny": "deny", "other": "assert"}
# Document mode's output formats (`predict --document --format`).
DOCUMENT_FORMATS = ("table", "jsonl", "csv", "html")
# Batch scoring's file formats (`score --input/--output`), named by the path's extension.
SCORE_FORMATS = ("jsonl", "csv", "parquet")
# Batch scoring's engines (`score --engine`).
SCORE_ENGINES = ("local", "spark")
