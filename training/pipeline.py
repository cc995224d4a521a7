"""The training run, stage by stage: load -> featurize -> fit -> evaluate (model and
baselines on every split, its natural and hard slices, the external labelled sets, grouped
CV, a document bootstrap) -> publish (reports, metadata, MLflow, the exported model).

The CLI only parses arguments and prints; everything a run does happens here.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from training import augment, evaluate, export, external, relevance, tracking
from training.datasets import fnc1, load_corpus
from training.errors import StanceError
from training.features import fit_transform_splits
from training.models import build_baseline, build_classifier, build_pipeline, fit_classifier
from training.predict import Predictor, ordered_proba, restore_interrupted

SPLITS = ("train", "dev", "test")


# The stages `checkpoint` marks, in order (the interrupt test stops a training at each one).
STAGES = ("load", "features", "fit", "evaluate", "log_model", "publish")


def checkpoint(stage: str) -> None:
    """Fault injection for the interrupt test: with STANCE_INTERRUPT_AT=<stage> the process sends
    itself SIGTERM here, as a scheduler would (the CLI turns it into errors.Terminated)."""
    if os.environ.get("STANCE_INTERRUPT_AT") == stage:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs between bytecodes: wait here, not in the next stage


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cfg, models_dir: str = "models", register: bool = True, export_model: bool = True, log=_stderr) -> dict:
    """Train, evaluate, log to MLflow and (optionally) export models/<name>/. Returns the metrics."""
    if cfg.data.streaming:  # a corpus read in batches, never whole: its own run, same outputs
        from training import streaming
        return streaming.run(cfg, models_dir, register, export_model, log)
    t_start = time.perf_counter()
    corpus = load_corpus(cfg)
    checkpoint("load")
    sizes = {s: len(corpus.splits[s]) for s in SPLITS}
    log(f"corpus {corpus.source}: {sizes['train']} train / {sizes['dev']} dev / {sizes['test']} test pairs, "
        f"hash {corpus.hash[:12]}")
    if not sizes["dev"] and not sizes["test"]:
        raise StanceError(f"{cfg.where('data.split')}: dev and test are both empty, so nothing can be evaluated; "
                          f"give dev or test a share above 0")
    frames = {s: corpus.frame(s) for s in SPLITS}
    documents = dict(frames)  # relevance reads every annotated pair of the documents
    frames["train"] = stance_training_pairs(cfg, frames["train"], log)
    externals = external.load_configured(cfg, log)
    target = Path(models_dir) / cfg.name
    if restore_interrupted(target):
        log(f"restored {target}/ from an earlier run stopped while swapping it in")
    stage = export.staging_dir(target)  # reports are written here even when not exporting
    git, versions = tracking.git_state(), export.library_versions()
    if not register:
        cfg.tracking.registered_model = None
    try:
        with tracking.run(cfg, tracking.name_run(cfg, git)) as active:
            log(f"MLflow run {active.info.run_id} in experiment {cfg.tracking.experiment!r} at {tracking.tracking_uri()}")
            tracking.log_setup(cfg, corpus, versions, git)
            pipeline, mats, metrics = fit(cfg, corpus.hash, frames, log)
            report_dir = stage / "reports"
            checkpoint("evaluate")
            preds = evaluate_model(cfg, pipeline, mats, frames, corpus, externals, report_dir, metrics, log)
            evaluate_baselines(cfg, frames, externals, metrics, log)
            rel = resample(cfg, frames, documents, preds, corpus.labels, metrics, log)
            metrics["total_seconds"] = time.perf_counter() - t_start
            publish(cfg, pipeline, frames, corpus, metrics, stage, target, export_model,
                    {"versions": versions, **git, "mlflow_run_id": active.info.run_id}, log, rel)
    except BaseException:
        export.discard(stage)
        raise
    metrics["run_id"] = active.info.run_id
    return metrics


def fit(cfg, corpus_hash: str, frames: dict, log):
    """Featurize every split (fit on train) and fit the classifier on train."""
    from sklearn.pipeline import Pipeline
    y_train = frames["train"]["stance"].to_numpy(dtype=object)
    t = time.perf_counter()
    checkpoint("features")
    feats, mats, cache_hit = fit_transform_splits(cfg, corpus_hash, frames, y_train, log=log)
    t_features = time.perf_counter() - t
    t = time.perf_counter()
    checkpoint("fit")
    clf = fit_classifier(build_classifier(cfg), mats["train"], y_train, frames["train"]["group"].to_numpy(),
                         train_weights(cfg, frames["train"]))
    t_fit = time.perf_counter() - t
    log(f"fitted {cfg.model.type} in {t_fit:.1f}s")
    metrics = {"features_seconds": t_features, "fit_seconds": t_fit, "train_pairs": len(y_train),
               "features_cache_hit": int(cache_hit)}
    return Pipeline([("features", feats), ("clf", clf)]), mats, metrics


def stance_training_pairs(cfg, train, log):
    """The train split without the pairs tagged with any of `data.train_skip_tags` (they are
    still evaluated where they fall in dev or test, and relevance still learns from them), plus
    the dismissal-idiom copies of its denials with `data.dismissal_idioms`."""
    skip = set(cfg.data.train_skip_tags)
    if skip and "tags" in train:
        keep = np.array([not skip & set(t) for t in train["tags"]], dtype=bool)
        if not keep.all():
            log(f"stance training leaves out {int((~keep).sum())} train pairs tagged {', '.join(sorted(skip))}")
        train = train[keep].reset_index(drop=True)
    return augment.with_dismissal_idioms(train, log) if cfg.data.dismissal_idioms else train


def train_weights(cfg, train_frame):
    """Per-pair training weights: `data.hard_weight` for pairs tagged hard, 1 for the rest, times
    the augmentation's weights (None when every weight is 1, so models without sample_weight
    still train)."""
    w = augment.weights(train_frame)
    if cfg.data.hard_weight != 1.0 and "tags" in train_frame:
        hard = np.array(["hard" in t for t in train_frame["tags"]], dtype=bool)
        w = np.where(hard, cfg.data.hard_weight, 1.0) * (1.0 if w is None else w)
    return None if w is None or (w == 1.0).all() else w


def hard_mask(frame) -> np.ndarray:
    if "tags" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return np.array(["hard" in t for t in frame["tags"]], dtype=bool)


def score_into(metrics: dict, prefix: str, y_true, y_pred, labels, hard=None, fnc: bool = False) -> dict:
    """Score one prediction set and store it under `prefix` (`test`, `baseline_cue_rule_test`,
    `external_emergent_dev`, ...), with its natural and hard slices when `hard` marks some
    pairs. The one scoring function for the model, the baselines and the external sets."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    res = evaluate.scores(y_true, y_pred, labels)
    if fnc:  # FNC-1's own score, kept with the dataset it belongs to
        res.update(fnc1.scores(y_true, y_pred))
    metrics.update(evaluate.flat_metrics(prefix, res))
    if hard is not None and hard.any():
        for name, mask in (("hard", hard), ("natural", ~hard)):
            if mask.any():
                metrics[evaluate.key(prefix, f"{name}_macro_f1")] = evaluate.scores(y_true[mask], y_pred[mask], labels)["macro_f1"]
                metrics[evaluate.key(prefix, f"{name}_pairs")] = int(mask.sum())
    return res


def evaluate_model(cfg, pipeline, mats, frames, corpus, externals, report_dir, metrics, log) -> dict:
    """Score the fitted model on dev, test and each external set; write the reports."""
    clf, labels, fnc = pipeline[-1], corpus.labels, cfg.evaluation.fnc_score
    preds = {}
    for split in ("dev", "test"):
        if not len(frames[split]):
            continue
        pred = preds[split] = np.asarray(clf.predict(mats[split]), dtype=object)
        y = frames[split]["stance"].to_numpy(dtype=object)
        res = score_into(metrics, split, y, pred, labels, hard_mask(frames[split]), fnc)
        proba = ordered_proba(clf.classes_, clf.predict_proba(mats[split]), labels)
        evaluate.write_reports(report_dir, split, res, labels, corpus.rows(split), pred, proba)
        slices = "".join(f", {k} {metrics[evaluate.key(split, k + '_macro_f1')]:.3f}" for k in ("natural", "hard")
                         if evaluate.key(split, k + "_macro_f1") in metrics)
        log(f"{split}: macro-F1 {res['macro_f1']:.3f}, accuracy {res['accuracy']:.3f}"
            + (f", FNC {res['fnc_score']:.2f}%" if fnc else "") + slices)
    if fnc and hasattr(clf, "stage_scores") and len(frames["dev"]):
        log_tradeoff(clf, mats["dev"], frames["dev"]["stance"].to_numpy(dtype=object), report_dir, log)
    for name, ext in externals.items():
        pred, proba = Predictor(pipeline, labels, {}).predict_with_proba(ext.frame["claim"].tolist(),
                                                                        ext.frame["sentence"].tolist())
        pred = np.asarray(pred, dtype=object)
        res = score_into(metrics, evaluate.external(name), ext.y, pred, labels)
        evaluate.write_reports(report_dir, evaluate.external(name), res, labels, ext.rows, pred, proba)
        log(f"external {name} ({ext.path}, {len(ext.y)} pairs): macro-F1 {res['macro_f1']:.3f} over "
            f"{', '.join(res['present'])}")
    return preds


def log_tradeoff(clf, X, y, report_dir, log) -> None:
    """The two-stage decision's trade-off on dev (reports/fnc_tradeoff.*), and the point with the
    best macro-F1 among those that keep the fitted point's FNC score."""
    rows = fnc1.tradeoff(clf, X, y, report_dir)
    (fitted,) = [r for r in rows if r["fitted"]]
    best = max((r for r in rows if r["fnc_score"] >= fitted["fnc_score"]), key=lambda r: r["macro_f1"])
    show = lambda r: ", ".join(f"{k} {v:.3f}" for k, v in r.items() if k != "fitted")  # noqa: E731
    log(f"dev trade-off (reports/fnc_tradeoff.csv, .png): fitted {show(fitted)}; best macro-F1 at no lower FNC: {show(best)}")


def evaluate_baselines(cfg, frames, externals, metrics, log) -> None:
    labels, fnc = cfg.data.labels, cfg.evaluation.fnc_score
    train = frames["train"][augment.originals(frames["train"])]  # the corpus as written, no copies
    for name in cfg.evaluation.baselines:
        base = build_baseline(name, cfg).fit(train, train["stance"].to_numpy(dtype=object))
        sets = {s: (frames[s], hard_mask(frames[s])) for s in ("dev", "test") if len(frames[s])}
        sets.update({evaluate.external(n): (e.frame, None) for n, e in externals.items()})
        for at, (frame, hard) in sets.items():
            score_into(metrics, evaluate.where(at, name), frame["stance"], base.predict(frame), labels, hard, fnc)
        log(f"baseline {name}: " + ", ".join(f"{at} macro-F1 {metrics[evaluate.key(evaluate.where(at, name), 'macro_f1')]:.3f}"
                                             for at in sets))


def resample(cfg, frames, documents, preds, labels, metrics, log):
    """Grouped cross-validation on train, the relevance stage and a document bootstrap of the main
    split. The folds and relevance are independent jobs: they run two at a time, one per core,
    each as it would alone (same scores, same relevance model), which takes 15 s off `make train`.
    Returns relevance's (model, threshold), or None."""
    from joblib import Parallel, delayed
    t, frame = time.perf_counter(), frames["train"]
    rel, wanted = None, relevance.wanted(cfg, log)
    splits = _cv_splits(cfg, frame) if cfg.evaluation.cv_folds else []
    weights, y, groups = train_weights(cfg, frame), frame["stance"].to_numpy(dtype=object), frame["group"].to_numpy()
    jobs = ([delayed(relevance.train_job)(cfg, documents)] if wanted else []) + [
        delayed(_fold_f1)(cfg, frame, y, groups, weights, tr, va, labels) for tr, va in splits]
    vals = []
    for result in Parallel(n_jobs=max(1, min(len(jobs), os.cpu_count() or 1, 2)), return_as="generator_unordered")(jobs):
        if isinstance(result, tuple):  # relevance: (model, threshold, metrics, its log lines)
            rel = result[:2]
            metrics.update(result[2])
            for line in result[3]:
                log(line)
        else:
            vals.append(result)
            log(f"cross-validation fold {len(vals)}/{len(splits)}: macro-F1 {result:.3f}")
    if vals:
        metrics.update({evaluate.key("cv", "macro_f1_mean"): float(np.mean(vals)),
                        evaluate.key("cv", "macro_f1_std"): float(np.std(vals)), evaluate.key("cv", "folds"): len(vals),
                        "cv_seconds": time.perf_counter() - t})
    main = "test" if len(frames["test"]) else "dev"
    if cfg.evaluation.bootstrap:
        lo, hi = evaluate.bootstrap_macro_f1(frames[main]["stance"].tolist(), preds[main],
                                             frames[main]["group"].tolist(), labels, cfg.evaluation.bootstrap, cfg.seed)
        metrics[evaluate.key(main, "macro_f1_ci_low")], metrics[evaluate.key(main, "macro_f1_ci_high")] = lo, hi
        log(f"{main} macro-F1 95% interval (document bootstrap): [{lo:.3f}, {hi:.3f}]")
    return rel


def _cv_splits(cfg, frame) -> list:
    """GroupKFold on the training split (by document); the idiom copies train with their fold but
    are never scored. Empty below two documents."""
    from sklearn.model_selection import GroupKFold
    groups = frame["group"].to_numpy()
    folds = min(cfg.evaluation.cv_folds, len(set(groups)))
    if folds < 2:
        return []
    scored = augment.originals(frame)
    return [(tr, va[scored[va]]) for tr, va in GroupKFold(n_splits=folds).split(frame, groups=groups)]


def _fold_f1(cfg, frame, y, groups, weights, tr, va, labels) -> float:
    """One fold fitted as the run itself is (hard-pair weights, grouped inner folds)."""
    from sklearn.base import clone
    from sklearn.metrics import f1_score
    model = clone(build_pipeline(cfg))
    X = model[:-1].fit_transform(frame.iloc[tr], y[tr])
    fit_classifier(model[-1], X, y[tr], groups[tr], None if weights is None else weights[tr])
    return float(f1_score(y[va], model.predict(frame.iloc[va]), labels=labels, average="macro", zero_division=0))


def publish(cfg, pipeline, frames, corpus, metrics, stage, target, export_model, provenance, log, rel=None) -> None:
    """Reports and metrics to MLflow; metadata and model to `stage`, then swapped in."""
    report_dir = stage / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    tracking.log_results(metrics, report_dir)
    sizes = {s: len(frames[s]) for s in SPLITS}
    metadata = {
        "name": cfg.name, "labels": corpus.labels, "config": cfg.to_dict(), "config_path": cfg.source,
        "corpus_hash": corpus.hash, "corpus_source": corpus.source, "split_sizes": sizes,
        "metrics": {k: v for k, v in metrics.items() if not k.endswith("_seconds")},
        **{k: v for k, v in metrics.items() if k.endswith("_seconds")},
        **provenance, "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if export_model:
        import yaml
        if rel is not None:
            metadata["relevance"] = export.write_relevance(stage, *rel)
        export.write_model(stage, pipeline, metadata)
        (stage / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
    if cfg.tracking.log_model:
        t = time.perf_counter()
        checkpoint("log_model")
        version = tracking.log_model(pipeline, cfg, frames["train"][["claim", "sentence"]].head(3), corpus.labels)
        log(f"logged model to MLflow in {time.perf_counter() - t:.1f}s"
            + (f", registered {cfg.tracking.registered_model!r} version {version}" if version else ""))
    if export_model:
        checkpoint("publish")
        export.publish(stage, target)
        log(f"exported {target}/ (model.joblib, metadata.json, reports/)")
    else:
        export.discard(stage)
