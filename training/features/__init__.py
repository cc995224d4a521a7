"""Claim-aware features for (claim, sentence) pairs.

Everything here is importable without MLflow or datasets: the exported pipeline pickles
references to these classes, and `training.predict` loads them in plain Python.

Input to the feature step is a DataFrame with the text columns `claim` and `sentence`
(a pyfunc model gets a DataFrame; a bare vectorizer would iterate its column names).

The blocks live one per module (base, masked, similarity, lexicon, frames, article); this module
assembles them (`build_features`), counts the dense columns (`dense_width`) and caches fitted
features. Names are re-exported here so models pickled before the split still load.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from training.features.article import ArticleFeatures  # noqa: F401
from training.features.base import (NUMBER, RULE_DENY, RULE_WARN, STOP, TEXT_COLUMNS, CsrColumnTransformer,  # noqa: F401
                                    DedupTfidf,
                                    _content, _pairs, _unique, lower_truncate)
from training.features.frames import StanceFrames
from training.features.lexicon import LEXICONS, CueLexicon, _groups_of  # noqa: F401
from training.features.masked import ClaimMasker  # noqa: F401
from training.features.similarity import PairSimilarity  # noqa: F401

# re-exported: models pickled before the package split name these as training.features.<name>
__all__ = ["ArticleFeatures", "ClaimMasker", "CueLexicon", "DedupTfidf", "LEXICONS", "NUMBER", "PairSimilarity",
           "RULE_DENY", "RULE_WARN", "STOP", "StanceFrames", "TEXT_COLUMNS", "build_features", "dense_width",
           "fit_transform_splits", "lower_truncate", "_content", "_groups_of", "_pairs", "_unique"]

if TYPE_CHECKING:  # the predict path must not pay for yaml/config
    from training.config import Config, TfidfBlock


class _Scale(BaseEstimator, TransformerMixin):
    """Multiply a dense block by a constant: how loud it is beside the TF-IDF columns."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True  # stateless

    def transform(self, X):
        return np.asarray(X) * self.factor


def _tfidf(block: TfidfBlock, analyzer: str) -> DedupTfidf:
    return DedupTfidf(
        analyzer=analyzer, ngram_range=tuple(block.ngram_range), min_df=block.min_df, max_df=block.max_df,
        max_features=block.max_features, sublinear_tf=block.sublinear_tf, dtype=np.float32,
        preprocessor=functools.partial(lower_truncate, max_chars=block.max_chars),
        token_pattern=r"(?u)\b\w+\b" if analyzer == "word" else None,  # keep one-letter words and "no"
    )


def build_features(cfg: Config) -> ColumnTransformer:
    f = cfg.features
    parts = []
    if f.word.enabled:
        parts.append(("word", _tfidf(f.word, "word"), "sentence"))
    if f.char.enabled:
        parts.append(("char", _tfidf(f.char, "char_wb"), "sentence"))
    if f.masked.enabled:
        parts.append(("masked", Pipeline([("mask", ClaimMasker(max_chars=f.masked.max_chars)),
                                          ("tfidf", _tfidf(f.masked, "word"))]), TEXT_COLUMNS))
    if f.claim.enabled:
        parts.append(("claim", _tfidf(f.claim, "word"), "claim"))
    if f.similarity.enabled:
        parts.append(("similarity", PairSimilarity(f.similarity.lead_sentences, f.similarity.svd_components,
                                                   random_state=cfg.seed), TEXT_COLUMNS))
    if f.lexicon.enabled:
        parts.append(("lexicon", CueLexicon(tuple(f.lexicon.groups), f.lexicon.window), TEXT_COLUMNS))
    if f.frames.enabled:
        parts.append(("frames", Pipeline([("frames", StanceFrames()), ("scale", _Scale(f.frames.scale))]), TEXT_COLUMNS))
    if f.article.enabled:  # first, so its relatedness columns lead (two_stage reads them by position)
        parts.insert(0, ("article", ArticleFeatures(f.article.char_max_features), TEXT_COLUMNS))
    return CsrColumnTransformer(parts, remainder="drop", sparse_threshold=1.0)


def dense_width(cfg: Config) -> int:
    """How many dense columns the similarity, lexicon and frames blocks put at the end of the
    feature matrix (build_features adds them last, in this order)."""
    from training.features.frames import COLUMNS
    f = cfg.features
    width = 0
    if f.similarity.enabled:
        width += PairSimilarity.BASE_COLUMNS + (f.similarity.lead_sentences > 0) + (f.similarity.svd_components > 0)
    if f.lexicon.enabled:
        width += 3 * len(f.lexicon.groups)
    if f.frames.enabled:
        width += len(COLUMNS)
    return width


def _cache_key(cfg: Config, corpus_hash: str, frames: dict) -> str:
    import hashlib
    import json
    from pathlib import Path

    import sklearn

    h = hashlib.sha256()
    h.update(corpus_hash.encode())
    h.update(json.dumps(cfg.to_dict()["features"], sort_keys=True).encode())
    h.update(f"{cfg.seed} {sklearn.__version__}".encode())
    for split in sorted(frames):  # the rows of each split, in order: a changed split is another matrix
        df = frames[split]
        rows = df["id"] if "id" in df else df["claim"] + "\t" + df["sentence"]
        h.update(f"{split}:".encode() + "\n".join(map(str, rows)).encode())
    here = Path(__file__).parent
    # any change to the feature code (every module of this package) or the tokenizer invalidates it
    for path in sorted(here.glob("*.py")) + [here.parent / "text.py"]:
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:24]


def fit_transform_splits(cfg: Config, corpus_hash: str, frames: dict, y_train, cache_dir=".cache/features", log=None):
    """Fit the feature step on frames['train'] and transform every split. With
    `features.cache`, reuse a stored result whose key (data + config + code) matches."""
    import time
    from pathlib import Path

    import joblib

    path = Path(cache_dir) / f"{cfg.name}-{_cache_key(cfg, corpus_hash, frames)}.joblib"
    if cfg.features.cache and path.is_file():
        if log:
            log(f"features: cache hit {path}")
        feats, mats = joblib.load(path)
        return feats, mats, True
    t = time.perf_counter()
    feats = build_features(cfg)
    mats = {"train": feats.fit_transform(frames["train"], y_train)}
    for split, df in frames.items():
        if split != "train":
            mats[split] = feats.transform(df) if len(df) else None
    if log:
        log(f"features: {mats['train'].shape[1]:,} columns in {time.perf_counter() - t:.1f}s")
    if cfg.features.cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        joblib.dump((feats, mats), tmp)
        tmp.rename(path)
    return feats, mats, False


def __getattr__(name):
    # DenseTopK moved to training.models; models pickled before the move name it here
    if name == "DenseTopK":
        from training.models import DenseTopK
        return DenseTopK
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
