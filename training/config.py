"""YAML config -> typed, validated dataclasses.

Every key is checked against the dataclass fields: an unknown key, a wrong type or an
out-of-range value is a StanceError naming the file, line and dotted key, and listing what
is valid. Unset keys take the defaults below, and the resolved config (defaults filled in)
is what gets logged and saved with the model.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from training.errors import StanceError
from training.names import (BASELINES, CUE_RULE_OUTCOMES, DATA_FORMATS, DEFAULT_CUE_RULE_LABELS,  # noqa: F401
                            FNC_UNRELATED, LEXICON_GROUPS, MODEL_TYPES)
from training.typed_yaml import build, field_names, field_rules, flatten, line_map, plain  # noqa: F401 (flatten: tracking)

_f = field_rules


@dataclass
class TfidfBlock:
    enabled: bool = True
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = _f(1, min=1)
    max_df: float = _f(1.0, min=0.01, max=1.0)
    max_features: typing.Optional[int] = _f(None, min=1)
    sublinear_tf: bool = True
    max_chars: typing.Optional[int] = _f(None, min=1)  # truncate long texts (article bodies)


@dataclass
class SimilarityBlock:
    """Claim-sentence interaction: token overlap, TF-IDF cosine, shared numbers, length."""
    enabled: bool = True
    lead_sentences: int = _f(0, min=0)  # >0: also compare the claim with the text's first N sentences
    svd_components: int = _f(0, min=0)  # >0: add an LSA cosine with this many components


@dataclass
class LexiconBlock:
    """Counts of project cue lexicons, overall and near words shared with the claim."""
    enabled: bool = True
    groups: list[str] = _f(list(LEXICON_GROUPS), choices=LEXICON_GROUPS)
    window: int = _f(6, min=1, max=50)  # tokens either side of a claim word that count as "near"


@dataclass
class FramesBlock:
    """Topic-free stance frames (training/features/frames.py): the cue rule's decision,
    where negation points, dismissal and confirmation frames, claim/sentence mismatches."""
    enabled: bool = False
    scale: float = _f(1.0, min=0.0, max=100.0)  # weight of these columns beside the TF-IDF ones


@dataclass
class ArticleBlock:
    """Headline-vs-article-body features for long texts (FNC-1): relatedness and cue words."""
    enabled: bool = False
    char_max_features: int = _f(300000, min=1000)


@dataclass
class FeaturesConfig:
    word: TfidfBlock = field(default_factory=TfidfBlock)
    char: TfidfBlock = field(default_factory=lambda: TfidfBlock(ngram_range=(2, 5), min_df=2))
    # The sentence with every word that also occurs in the claim replaced by a placeholder:
    # what is left is how the sentence talks about the claim, not what the story is about.
    masked: TfidfBlock = field(default_factory=lambda: TfidfBlock(ngram_range=(1, 3)))
    claim: TfidfBlock = field(default_factory=lambda: TfidfBlock(enabled=False))
    similarity: SimilarityBlock = field(default_factory=SimilarityBlock)
    lexicon: LexiconBlock = field(default_factory=LexiconBlock)
    frames: FramesBlock = field(default_factory=FramesBlock)
    article: ArticleBlock = field(default_factory=ArticleBlock)
    # streaming: each text block is hashed into 2**hash_bits columns (no vocabulary to hold)
    hash_bits: int = _f(20, min=10, max=24)
    # Cache fitted features on disk (.cache/features), keyed by corpus hash, this block and
    # the feature code's source: worth it for FNC-1's 50k long pairs, not for small corpora.
    cache: bool = False


@dataclass
class SplitConfig:
    train: float = _f(0.6, min=0.0, max=1.0)
    dev: float = _f(0.15, min=0.0, max=1.0)
    test: float = _f(0.25, min=0.0, max=1.0)


@dataclass
class DataConfig:
    format: str = _f("jsonl", choices=DATA_FORMATS)
    path: str = "data/pairs"  # jsonl: folder of *.jsonl; fnc1: folder of the CSVs ($FNC1_DIR wins)
    seeds_dir: str = "seeds"
    labels: list[str] = _f(["assert", "deny", "warn"])
    split: SplitConfig = field(default_factory=SplitConfig)
    test_path: typing.Optional[str] = None  # fnc1: competition test folder ($FNC1_TEST_DIR wins)
    second_pass: typing.Optional[str] = None  # jsonl: blind second annotation; `training data` reports agreement
    # Training weight of pairs tagged `hard` (cue words point the wrong way); 0 leaves them out.
    # They stay in every evaluation, where they are scored as their own slice.
    hard_weight: float = _f(1.0, min=0.0, max=100.0)
    # Pairs with any of these tags are left out of the stance model's training (not of evaluation,
    # nor of relevance, which learns which sentences take a stance from every annotated pair).
    train_skip_tags: list[str] = _f([])
    dismissal_idioms: bool = False  # copy train denials of a report with dismissal idioms (training/augment.py)
    # Stream the corpus in batches through `datasets` instead of loading it (training/streaming.py):
    # for corpora that do not fit in memory; needs model.type sgd (it learns batch by batch).
    streaming: bool = False
    batch_size: int = _f(4096, min=1, max=1_000_000)  # streaming: pairs per batch (memory grows with it)
    shuffle_buffer: int = _f(10000, min=0, max=10_000_000)  # streaming: pairs shuffled at a time; 0 keeps file order


@dataclass
class ModelConfig:
    type: str = _f("linear_svm", choices=MODEL_TYPES)
    params: dict = _f({})  # passed to the estimator; names are checked in training.models
    calibrate: bool = False  # wrap in CalibratedClassifierCV (sigmoid; isotonic needs >1000 rows)


@dataclass
class EvaluationConfig:
    cv_folds: int = _f(5, min=0, max=20)  # grouped by document; 0 turns cross-validation off
    bootstrap: int = _f(1000, min=0, max=100000)
    baselines: list[str] = _f(list(BASELINES), choices=BASELINES)
    # cue_rule baseline: which configured label each cue group stands for
    cue_rule_labels: dict = _f(dict(DEFAULT_CUE_RULE_LABELS))
    fnc_score: bool = False  # official FNC-1 score (needs an `unrelated` label)
    # Labelled sets outside the corpus (name: path to JSONL with claim, sentence, stance):
    # scored after training as external_<name>_*; a missing path is skipped with a notice.
    external: dict = _f({})


@dataclass
class RelevanceConfig:
    """The relevance stage (training/relevance.py): does a sentence take any stance toward the
    claim? Trained from the corpus documents; needs data.format jsonl (documents in seeds_dir)."""
    enabled: bool = True
    other_documents: int = _f(3, min=0, max=50)  # negatives per claim drawn from other documents
    rounds: int = _f(3, min=1, max=10)  # times the document is re-read through the previous round's scores
    folds: int = _f(3, min=2, max=10)  # grouped folds for the out-of-fold scores each round learns from
    max_iter: int = _f(100, min=1, max=5000)
    learning_rate: float = _f(0.2, min=0.001, max=1.0)
    vectors: bool = True  # read claim and sentence through pretrained word vectors too (features/vectors.py)


@dataclass
class TrackingConfig:
    experiment: str = "stance"
    registered_model: typing.Optional[str] = "stance-classifier"
    log_model: bool = True


@dataclass
class Config:
    name: str = "stance"
    seed: int = _f(13, min=0)
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    relevance: RelevanceConfig = field(default_factory=RelevanceConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    source: str = field(default="<defaults>", metadata={"internal": True})
    lines: dict = field(default_factory=dict, repr=False, metadata={"internal": True})

    def where(self, key: str) -> str:
        """'configs/x.yaml:12: model.params.C' for error messages about a config key."""
        line = self.lines.get(key) or self.lines.get(key.rsplit(".", 1)[0])
        return f"{self.source}:{line}: {key}" if line else f"{self.source}: {key}"

    def to_dict(self) -> dict:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not f.metadata.get("internal")}


def from_dict(raw: dict, source: str = "<dict>", lines: dict | None = None) -> Config:
    where = Config(source=source, lines=lines or {}).where
    if not isinstance(raw, dict):
        raise StanceError(f"{source}: a config is a YAML mapping of {field_names(Config)}; got {type(raw).__name__}")
    cfg = build(Config, raw, "", where)
    cfg.source, cfg.lines = source, lines or {}
    _check_semantics(cfg)
    return cfg


def _check_semantics(cfg: Config) -> None:
    labels = cfg.data.labels
    if len(labels) < 2:
        raise StanceError(f"{cfg.where('data.labels')}: need at least two labels, got {labels!r}")
    s = cfg.data.split
    if abs(s.train + s.dev + s.test - 1.0) > 1e-6:
        raise StanceError(f"{cfg.where('data.split')}: train + dev + test must be 1.0, got "
                          f"{s.train} + {s.dev} + {s.test} = {s.train + s.dev + s.test:g}")
    if s.train <= 0:
        raise StanceError(f"{cfg.where('data.split.train')}: the train share must be above 0")
    if s.dev <= 0 and s.test <= 0:
        raise StanceError(f"{cfg.where('data.split')}: dev and test are both 0, so nothing can be evaluated; "
                          f"give dev or test a share above 0")
    if "cue_rule" in cfg.evaluation.baselines:
        m = cfg.evaluation.cue_rule_labels
        if set(m) != set(CUE_RULE_OUTCOMES):
            raise StanceError(f"{cfg.where('evaluation.cue_rule_labels')}: needs exactly the keys "
                              f"{', '.join(CUE_RULE_OUTCOMES)}; got {sorted(m)}")
        for k, v in m.items():
            if v not in labels:
                raise StanceError(f"{cfg.where('evaluation.cue_rule_labels.' + k)}: {v!r} is not a configured label; valid: {', '.join(labels)}")
    for name, path in cfg.evaluation.external.items():
        if not isinstance(path, str) or not path.strip():
            raise StanceError(f"{cfg.where('evaluation.external.' + str(name))}: expected a path to a JSONL file, got {path!r}")
        if not str(name).replace("_", "").replace("-", "").isalnum():
            raise StanceError(f"{cfg.where('evaluation.external.' + str(name))}: the name {name!r} may hold only "
                              f"letters, digits, '-' and '_' (it becomes part of metric names)")
    if cfg.evaluation.fnc_score and FNC_UNRELATED not in labels:
        raise StanceError(f"{cfg.where('evaluation.fnc_score')}: the FNC-1 score needs an {FNC_UNRELATED!r} label; "
                          f"labels are {', '.join(labels)}")
    if not any(getattr(cfg.features, b).enabled for b in ("word", "char", "masked", "claim", "similarity", "lexicon",
                                                          "frames", "article")):
        raise StanceError(f"{cfg.where('features')}: every feature block is disabled; enable at least one")
    if cfg.model.type == "two_stage":
        _check_two_stage(cfg, labels)
    if cfg.model.type == "stacked":
        scale = cfg.model.params.get("label_scale") or {}
        if not isinstance(scale, dict):
            raise StanceError(f"{cfg.where('model.params.label_scale')}: expected a mapping of label to factor, got {scale!r}")
        for lab, v in scale.items():
            if lab not in labels:
                raise StanceError(f"{cfg.where('model.params.label_scale.' + str(lab))}: {lab!r} is not a configured label; "
                                  f"valid: {', '.join(labels)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise StanceError(f"{cfg.where('model.params.label_scale.' + str(lab))}: expected a positive number, got {v!r}")
    if cfg.data.dismissal_idioms and "deny" not in labels:
        raise StanceError(f"{cfg.where('data.dismissal_idioms')}: copies deny pairs; deny is not a label here ({', '.join(labels)})")
    _check_sgd_and_streaming(cfg)
    for name in ("name", "tracking.experiment"):
        value = cfg.name if name == "name" else cfg.tracking.experiment
        if not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise StanceError(f"{cfg.where(name)}: {value!r} may hold only letters, digits, '-', '_' and '.'")


def _check_two_stage(cfg: Config, labels: list[str]) -> None:
    f = cfg.features
    sparse = [b for b in ("word", "char", "masked", "claim") if getattr(f, b).enabled]
    if not f.article.enabled or sparse:
        raise StanceError(f"{cfg.where('model.type')}: two_stage needs the dense article block alone: set "
                          f"features.article.enabled: true" + (f" and disable {', '.join(sparse)}" if sparse else ""))
    neg = cfg.model.params.get("negative_label", FNC_UNRELATED)
    if neg not in labels:
        raise StanceError(f"{cfg.where('model.params')}: two_stage negative_label {neg!r} is not a configured label; "
                          f"valid: {', '.join(labels)}")
    weights, rest = cfg.model.params.get("class_weights") or {}, [lab for lab in labels if lab != neg]
    if not isinstance(weights, dict):
        raise StanceError(f"{cfg.where('model.params.class_weights')}: expected a mapping of label to weight, got {weights!r}")
    for lab, w in weights.items():
        if lab not in rest or isinstance(w, bool) or not isinstance(w, (int, float)) or w <= 0:
            raise StanceError(f"{cfg.where('model.params.class_weights')}: expected a positive weight per label "
                              f"among {', '.join(rest)}, got {lab!r}: {w!r}")


def _check_sgd_and_streaming(cfg: Config) -> None:
    """What sgd and a streamed corpus cannot do, as one-line config errors (before any data is read)."""
    loss = cfg.model.params.get("loss", "log_loss")
    if cfg.model.type == "sgd" and not cfg.model.calibrate and loss not in ("log_loss", "modified_huber"):
        raise StanceError(f"{cfg.where('model.params.loss')}: sgd with loss {loss!r} gives no probabilities; "
                          f"use log_loss or modified_huber")
    if not cfg.data.streaming:
        return
    if cfg.model.type != "sgd":
        raise StanceError(f"{cfg.where('model.type')}: {cfg.model.type!r} needs the whole corpus in memory; "
                          f"with data.streaming: true use model.type: sgd (it learns batch by batch)")
    if cfg.data.dismissal_idioms:
        raise StanceError(f"{cfg.where('data.dismissal_idioms')}: copies train pairs in memory; set it to false "
                          f"with data.streaming: true")
    if cfg.model.calibrate:
        raise StanceError(f"{cfg.where('model.calibrate')}: calibration refits on held-out folds of the whole corpus; "
                          f"set it to false with data.streaming: true (sgd's log_loss gives probabilities)")
    if cfg.features.article.enabled:
        raise StanceError(f"{cfg.where('features.article')}: the article block learns a vocabulary from the whole "
                          f"corpus; disable it with data.streaming: true")


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate a YAML config file."""
    p = Path(path)
    if not p.is_file():
        found = sorted(str(x) for x in Path("configs").glob("*.yaml")) if Path("configs").is_dir() else []
        raise StanceError(f"{p}: config file not found" + (f"; available: {', '.join(found)}" if found else ""))
    text = p.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise StanceError(f"{p}{line}: invalid YAML ({getattr(e, 'problem', None) or e})") from None
    return from_dict(raw if raw is not None else {}, source=str(p), lines=line_map(node))
