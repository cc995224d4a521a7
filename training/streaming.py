"""Training beyond memory (`data.streaming: true`): the `sgd` family over hashed features learns
from batches streamed through `datasets` (training/streaming_data.py), and is evaluated, tracked
and exported as by `training.pipeline.run`, so `load_predictor` reads the model like any other.

Hashing replaces the TF-IDF vocabularies, which need the whole corpus: each enabled text block of
`features` (word, char, masked, claim) is hashed into 2**features.hash_bits columns, `similarity`
becomes per-pair overlap tokens, and `lexicon` and `frames` (stateless) are kept. Only the
classifier learns: `model.params.max_iter` epochs of `data.batch_size` pairs through partial_fit.
Not done (each needs the corpus in memory): cross-validation, relevance, `mlflow.log_input`.
"""

from __future__ import annotations

import functools
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from training.features import (NUMBER, TEXT_COLUMNS, ClaimMasker, CueLexicon, StanceFrames, _content, _groups_of, _pairs,
                               _Scale)
from training.features.base import _unique, lower_truncate
from training.text import tokens

EPOCHS = 5  # passes over the stream when model.params sets no max_iter (SGDClassifier's name for them)
SPLITS = ("train", "dev", "test")


class HashedText(BaseEstimator, TransformerMixin):
    """A text column hashed to `2**bits` columns (HashingVectorizer: no vocabulary, so nothing to
    learn from the corpus), log-scaled counts, rows of unit length; each distinct text once."""

    def __init__(self, analyzer="word", ngram_range=(1, 2), bits=20, sublinear_tf=True, max_chars=None):
        self.analyzer, self.ngram_range, self.bits = analyzer, ngram_range, bits
        self.sublinear_tf, self.max_chars = sublinear_tf, max_chars

    def fit(self, X, y=None):
        self.n_features_out_ = 2 ** self.bits
        return self

    def transform(self, X):
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.preprocessing import normalize
        uniq, inv = _unique(list(X))
        # alternate_sign=False: counts stay counts; no stop list, it would drop not/no/may
        vec = HashingVectorizer(analyzer=self.analyzer, ngram_range=tuple(self.ngram_range), n_features=2 ** self.bits,
                                alternate_sign=False, norm=None, dtype=np.float32,
                                preprocessor=functools.partial(lower_truncate, max_chars=self.max_chars),
                                token_pattern=r"(?u)\b\w+\b" if self.analyzer == "word" else None)
        M = vec.transform(uniq)
        if self.sublinear_tf:
            np.log1p(M.data, out=M.data)
        return normalize(M, copy=False)[inv]


class PairOverlap(BaseEstimator, TransformerMixin):
    """What claim and sentence share, per pair, hashed: each shared content word (weights of unit
    total length), the share of the claim's content words the sentence carries in six bins, how
    many it shares, whether the claim's numbers recur, and each cue group of the sentence crossed
    with the share bin. Bins and crosses let a linear model treat 'shares nothing' and 'shares
    most' as different kinds of pair, not as points on one line."""

    def __init__(self, bits=18):
        self.bits = bits

    def fit(self, X, y=None):
        self.n_features_out_ = 2 ** self.bits
        return self

    def transform(self, X):
        from sklearn.feature_extraction import FeatureHasher
        rows, cues = [], {}
        for c, s in zip(*_pairs(X)):
            cw, st = _content(tokens(c)), tokens(s)
            sw = set(st)
            shared = sorted(cw & sw)
            share = f"share={0 if not shared else 1 + min(int(len(shared) / len(cw) * 5), 4)}"
            row = [(f"s={w}", 1 / np.sqrt(len(shared))) for w in shared]
            row += [(share, 1.0), (f"n={min(len(shared), 6)}", 1.0)]
            if s not in cues:
                cues[s] = Counter(g for t in st for g in _groups_of(t))
            # a refuting word means one thing in a sentence about the claim, another in one that is not
            row += [(f"{share}&{g}", float(np.log1p(n))) for g, n in cues[s].items()]
            numbers = {w for w in cw if NUMBER.match(w)}
            if numbers:
                row.append(("numbers=" + ("kept" if numbers <= sw else "missing"), 1.0))
            rows.append(row)
        return FeatureHasher(2 ** self.bits, input_type="pair", alternate_sign=False, dtype=np.float32).transform(rows)


def build_hashed_features(cfg):
    """The streamed counterpart of training.features.build_features, block for block."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    f, bits = cfg.features, cfg.features.hash_bits

    def text(block, analyzer="word"):
        return HashedText(analyzer, tuple(block.ngram_range), bits, block.sublinear_tf, block.max_chars)

    blocks = [  # (name, enabled, transformer, columns)
        ("word", f.word.enabled, text(f.word), "sentence"),
        ("char", f.char.enabled, text(f.char, "char_wb"), "sentence"),
        ("masked", f.masked.enabled, Pipeline([("mask", ClaimMasker(f.masked.max_chars)), ("hash", text(f.masked))]),
         TEXT_COLUMNS),
        ("claim", f.claim.enabled, text(f.claim), "claim"),
        ("similarity", f.similarity.enabled, PairOverlap(min(bits, 18)), TEXT_COLUMNS),
        ("lexicon", f.lexicon.enabled, CueLexicon(tuple(f.lexicon.groups), f.lexicon.window), TEXT_COLUMNS),
        ("frames", f.frames.enabled, Pipeline([("frames", StanceFrames()), ("scale", _Scale(f.frames.scale))]), TEXT_COLUMNS),
    ]
    return ColumnTransformer([(n, t, c) for n, on, t, c in blocks if on], remainder="drop", sparse_threshold=1.0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def paced(batches, log, what: str, total: int):
    """The batches, and a progress line on the log every 10 s (pairs done, pairs per second)."""
    seen, t0, t_log = 0, time.perf_counter(), time.perf_counter()
    for i, batch in enumerate(batches):
        yield batch
        seen += len(batch)
        if time.perf_counter() - t_log > 10:
            t_log = time.perf_counter()
            log(f"{what}: batch {i + 1}, {seen}/{total} pairs, {seen / (t_log - t0):.0f} pairs/s")


def run(cfg, models_dir: str = "models", register: bool = True, export_model: bool = True, log=None) -> dict:
    """training.pipeline.run for a streamed corpus: same metrics, reports, MLflow run and export."""
    from training import export, external, tracking
    from training.pipeline import checkpoint, publish
    from training.predict import restore_interrupted
    from training.streaming_data import open_stream
    log, t_start = log or (lambda msg: print(msg, file=sys.stderr, flush=True)), time.perf_counter()
    stream = open_stream(cfg)
    checkpoint("load")
    log(f"corpus {stream.source} (streamed, batches of {cfg.data.batch_size}): " + " / ".join(
        f"{stream.sizes.get(s, 0)} {s}" for s in SPLITS) + f" pairs, hash {stream.hash[:12]}")
    for skipped, why in ((cfg.evaluation.cv_folds, "cross-validation"), (cfg.relevance.enabled, "relevance")):
        if skipped:
            log(f"{why}: skipped, it needs the corpus in memory (data.streaming: true)")
    externals = external.load_configured(cfg, log)
    target = Path(models_dir) / cfg.name
    if restore_interrupted(target):
        log(f"restored {target}/ from an earlier run stopped while swapping it in")
    stage = export.staging_dir(target)
    git, versions = tracking.git_state(), export.library_versions()
    if not register:
        cfg.tracking.registered_model = None
    # log_setup's params and tags; no split is in memory to log as a dataset (sizes go to metrics)
    logged = SimpleNamespace(hash=stream.hash, labels=stream.labels, source=stream.source, splits={s: () for s in SPLITS})
    try:
        with tracking.run(cfg, tracking.name_run(cfg, git)) as active:
            log(f"MLflow run {active.info.run_id} in experiment {cfg.tracking.experiment!r} at {tracking.tracking_uri()}")
            tracking.log_setup(cfg, logged, versions, git)
            pipe, metrics, example = fit(cfg, stream, log)
            checkpoint("evaluate")
            evaluate_stream(cfg, pipe, stream, externals, stage / "reports", metrics, log)
            metrics["peak_rss_mb"] = peak_rss_mb()
            metrics["total_seconds"] = time.perf_counter() - t_start
            splits = {"train": _Split(metrics["train_pairs"], example),
                      **{s: _Split(stream.sizes.get(s, 0)) for s in ("dev", "test")}}
            publish(cfg, pipe, splits, stream, metrics, stage, target, export_model,
                    {"versions": versions, **git, "mlflow_run_id": active.info.run_id, "streamed": True}, log)
    except BaseException:
        export.discard(stage)
        raise
    metrics["run_id"] = active.info.run_id
    return metrics


def build_sgd(cfg, counts):
    """The configured SGDClassifier (names and values checked by training.models), its epochs and
    class weights. partial_fit refuses class_weight 'balanced' (it cannot see every pair first); the
    counting pass did, so the weights become sample weights: n / (classes * pairs of the class)."""
    from training.models import build_classifier
    clf, n = build_classifier(cfg), sum(counts.values())
    cw = clf.class_weight
    weights = {lab: n / (len(counts) * c) for lab, c in counts.items()} if cw == "balanced" else dict(cw or {})
    return clf.set_params(class_weight=None), cfg.model.params.get("max_iter", EPOCHS), weights


def fit(cfg, stream, log):
    """Hashed features (nothing to fit but their shape) and `epochs` passes of partial_fit."""
    from sklearn.pipeline import Pipeline
    from training.pipeline import checkpoint
    clf, epochs, weights = build_sgd(cfg, stream.fit_counts)
    n, classes = sum(stream.fit_counts.values()), np.array(stream.labels, dtype=object)
    checkpoint("features")
    feats, example = build_hashed_features(cfg), None
    checkpoint("fit")
    t, t_feat = time.perf_counter(), 0.0
    for epoch in range(epochs):
        t_epoch = time.perf_counter()
        for batch in paced(stream.batches("train", epoch, cfg.data.train_skip_tags), log, f"epoch {epoch + 1}/{epochs}", n):
            if example is None:  # the blocks are stateless: fitting records only the input columns
                feats.fit(batch)
                example = batch[TEXT_COLUMNS].head(3).reset_index(drop=True)
            t0 = time.perf_counter()
            X = feats.transform(batch)
            t_feat += time.perf_counter() - t0
            clf.partial_fit(X, batch["stance"].to_numpy(dtype=object), classes=classes,
                            sample_weight=sample_weights(cfg, batch, weights))
        dt = time.perf_counter() - t_epoch
        log(f"epoch {epoch + 1}/{epochs}: {n} pairs in {dt:.1f}s ({n / dt:.0f} pairs/s), peak RSS {peak_rss_mb():.0f} MB")
    t_fit = time.perf_counter() - t
    log(f"fitted sgd ({clf.loss}) in {t_fit:.1f}s over {epochs} epochs")
    metrics = {"features_seconds": t_feat, "fit_seconds": t_fit, "train_pairs": n, "epochs": epochs,
               **{f"{s}_pairs": stream.sizes.get(s, 0) for s in ("dev", "test")}}
    return Pipeline([("features", feats), ("clf", clf)]), metrics, example


def sample_weights(cfg, batch, class_weights: dict):
    """Per pair: its class's weight times data.hard_weight for pairs tagged hard (as pipeline.train_weights)."""
    hard = np.array(["hard" in t for t in batch["tags"]], dtype=bool)
    return np.array([class_weights.get(s, 1.0) for s in batch["stance"]]) * np.where(hard, cfg.data.hard_weight, 1.0)


def fit_baselines(cfg, counts) -> dict:
    """The baselines fitted on the train label counts, all they need (majority: the commonest label)."""
    import pandas as pd
    from training.models import build_baseline
    y, w = np.array(list(counts), dtype=object), np.array(list(counts.values()), dtype=float)
    X = pd.DataFrame({"claim": [""] * len(y), "sentence": [""] * len(y)})
    return {name: build_baseline(name, cfg).fit(X, y, **({"sample_weight": w} if name == "majority" else {}))
            for name in cfg.evaluation.baselines}


def predict_split(pipe, stream, split: str, baselines: dict, log) -> dict:
    """Every pair of `split` labelled by the model and the baselines, batch by batch, keeping per
    pair only label codes, probabilities, the hard tag and a group code (never the text)."""
    from training.predict import ordered_proba
    feats, clf, labels = pipe[0], pipe[-1], stream.labels
    index, groups = {lab: i for i, lab in enumerate(labels)}, {}
    out = {k: [] for k in ("y", "model", "proba", "hard", "group", *baselines)}
    for batch in paced(stream.batches(split), log, f"evaluating {split}", stream.sizes[split]):
        X = feats.transform(batch)
        out["proba"].append(ordered_proba(clf.classes_, clf.predict_proba(X), labels).astype(np.float32))
        for k, v in (("y", batch["stance"]), ("model", clf.predict(X)), *((n, b.predict(batch)) for n, b in baselines.items())):
            out[k].append(np.fromiter((index[s] for s in v), np.int8, len(batch)))
        out["hard"].append(np.array(["hard" in t for t in batch["tags"]], dtype=bool))
        out["group"].append(np.fromiter((groups.setdefault(g, len(groups)) for g in batch["group"]), np.int32, len(batch)))
    out = {k: np.concatenate(v) for k, v in out.items()}
    names = np.array(labels, dtype=object)
    return {k: names[v] if k not in ("proba", "hard", "group") else v for k, v in out.items()}


def evaluate_stream(cfg, pipe, stream, externals, report_dir: Path, metrics: dict, log) -> None:
    """pipeline.evaluate_model and evaluate_baselines on the streamed splits, then the external sets
    and the document bootstrap of the main split, as a normal run does."""
    from training import evaluate
    from training.pipeline import evaluate_model, score_into
    t, labels, fnc = time.perf_counter(), stream.labels, cfg.evaluation.fnc_score
    baselines = fit_baselines(cfg, stream.fit_counts)
    for split in (s for s in ("dev", "test") if stream.sizes.get(s)):
        p = predict_split(pipe, stream, split, baselines, log)
        res = score_into(metrics, split, p["y"], p["model"], labels, p["hard"], fnc)
        # the misclassified pairs' text comes from a second streamed pass, in the same order
        rows = (r for b in stream.batches(split) for r in b.to_dict("records"))
        evaluate.write_reports(report_dir, split, res, labels, rows, p["model"], p["proba"])
        for name in baselines:
            score_into(metrics, evaluate.where(split, name), p["y"], p[name], labels, p["hard"], fnc)
        log(f"{split}: macro-F1 {res['macro_f1']:.3f}, accuracy {res['accuracy']:.3f}" + (f", FNC {res['fnc_score']:.2f}%" if fnc else "")
            + "".join(f", {b} {metrics[evaluate.key(evaluate.where(split, b), 'macro_f1')]:.3f}" for b in baselines))
        if cfg.evaluation.bootstrap and split == ("test" if stream.sizes.get("test") else "dev"):
            lo, hi = evaluate.bootstrap_macro_f1(p["y"].tolist(), p["model"], p["group"], labels,
                                                 cfg.evaluation.bootstrap, cfg.seed)
            metrics[evaluate.key(split, "macro_f1_ci_low")], metrics[evaluate.key(split, "macro_f1_ci_high")] = lo, hi
            log(f"{split} macro-F1 95% interval (document bootstrap): [{lo:.3f}, {hi:.3f}]")
    # no pairs in memory, so evaluate_model scores only the external sets, as in a normal run
    evaluate_model(cfg, pipe, {}, {"dev": (), "test": ()}, stream, externals, report_dir, metrics, log)
    for name, ext in externals.items():
        for b, base in baselines.items():
            score_into(metrics, evaluate.where(evaluate.external(name), b), ext.y, base.predict(ext.frame), labels)
    metrics["evaluate_seconds"] = time.perf_counter() - t


class _Split:
    """A streamed split as pipeline.publish reads one: its size, and the rows logged as the example."""

    def __init__(self, n, example=None):
        self.n, self.example = n, example

    def __len__(self):
        return self.n

    def __getitem__(self, columns):
        return self.example[columns]
