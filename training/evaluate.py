"""Metrics and their names, bootstrap intervals and the report files (confusion matrix CSV/PNG,
per-class scores CSV/PNG, misclassified pairs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def scores(y_true, y_pred, labels) -> dict:
    """Accuracy, macro-F1, per-class P/R/F1/support, confusion over the configured labels.

    Macro-F1 averages over the labels present in the gold (all of them on a corpus split):
    a set without `warn` is scored on the others, and a `warn` prediction there still
    counts as an error through the missed recall of the true label."""
    y_true, y_pred = list(y_true), list(y_pred)
    present = [lab for lab in labels if lab in set(y_true)] or list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out = {
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "present": present,
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, lab in enumerate(labels)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "n": len(y_true),
    }
    return out


def _macro_f1_fast(t: np.ndarray, p: np.ndarray, k: int) -> float:
    """Macro-F1 over labels 0..k-1 present in t; p may hold k for "none of the labels"."""
    cm = np.bincount(t * (k + 1) + p, minlength=k * (k + 1)).reshape(k, k + 1)
    tp = np.diag(cm[:, :k])
    support, predicted = cm.sum(1), cm[:, :k].sum(0)
    f1 = np.where(support + predicted > 0, 2 * tp / np.maximum(support + predicted, 1), 0.0)
    return float(np.mean(f1[support > 0])) if (support > 0).any() else 0.0


def bootstrap_macro_f1(y_true, y_pred, groups, labels, n: int, seed: int) -> tuple[float, float]:
    """95% interval of macro-F1, resampling whole documents (pairs of one document are not
    independent, so resampling pairs would make the interval too narrow)."""
    if n <= 0 or not len(y_true):
        return float("nan"), float("nan")
    idx = {lab: i for i, lab in enumerate(labels)}
    t = np.array([idx[y] for y in y_true])
    p = np.array([idx.get(y, len(labels)) for y in y_pred])  # an unknown label is simply wrong
    groups = np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        take = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        vals.append(_macro_f1_fast(t[take], p[take], len(labels)))
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def write_reports(out: Path, split: str, result: dict, labels: list[str], rows: list[dict], y_pred, proba) -> list[Path]:
    """Write the confusion matrix and per-class scores (CSV and PNG) and the misclassified
    pairs for one split; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    cm_csv = out / f"{split}_confusion_matrix.csv"
    with open(cm_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["true \\ predicted"] + labels)
        for lab, row in zip(labels, result["confusion"]):
            w.writerow([lab] + row)
    pc_csv = out / f"{split}_per_class.csv"
    with open(pc_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "precision", "recall", "f1", "support"])
        for lab in labels:
            m = result["per_class"][lab]
            w.writerow([lab, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", m["support"]])
    mis = out / f"{split}_misclassified.jsonl"
    with open(mis, "w", encoding="utf-8") as fh:
        for r, pred, pr in zip(rows, y_pred, proba):
            if pred != r["stance"]:
                fh.write(json.dumps({"id": r["id"], "doc_id": r.get("doc_id", ""), "claim": r["claim"],
                                     "sentence": r["sentence"], "gold": r["stance"], "predicted": pred,
                                     "proba": {lab: round(float(x), 4) for lab, x in zip(labels, pr)},
                                     "tags": r.get("tags", [])}, ensure_ascii=False) + "\n")
    files += [cm_csv, pc_csv, mis]
    files += _plots(out, split, result, labels)
    return files


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_confusion(out: Path, split: str, result: dict, labels: list[str]) -> list[Path]:
    plt = _pyplot()
    cm = np.asarray(result["confusion"])
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 1.1 * len(labels) + 2))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(f"{split}: accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
    fig.tight_layout()
    cm_png = out / f"{split}_confusion_matrix.png"
    fig.savefig(cm_png, dpi=110)
    plt.close(fig)
    return [cm_png]


def _plots(out: Path, split: str, result: dict, labels: list[str]) -> list[Path]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 2.5, 3.5))
    x = np.arange(len(labels))
    for k, metric in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (k - 1) * 0.27, [result["per_class"][lab][metric] for lab in labels], 0.27, label=metric)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title(f"{split}: per-class scores")
    fig.tight_layout()
    pc_png = out / f"{split}_per_class.png"
    fig.savefig(pc_png, dpi=110)
    plt.close(fig)
    return plot_confusion(out, split, result, labels) + [pc_png]


# --- metric keys: the one place they are named ---------------------------------------------
# Every metric of a run (MLflow, metadata.json, reports/metrics.json, the CLI tables) is named
#   <where>_<metric>
# where   = dev | test | external_<set> | baseline_<baseline>_<dev | test | external_<set>> | cv
# metric  = accuracy | macro_f1 | {precision,recall,f1}_<label> | {natural,hard}_macro_f1
#           | {natural,hard}_pairs | fnc_score | fnc_score_test_mix | macro_f1_ci_low | macro_f1_ci_high
#           (cv: macro_f1_mean, macro_f1_std, folds)
# plus run-level figures without a <where>: *_seconds, train_pairs, features_cache_hit.
# Build them with `where()` and `key()`; read the main figure with `main_split()`.

def where(split: str, baseline: str | None = None) -> str:
    """`test`, `external_emergent_dev`, `baseline_cue_rule_test`, ..."""
    return f"baseline_{baseline}_{split}" if baseline else split


def external(name: str) -> str:
    return f"external_{name}"


def key(at: str, metric: str) -> str:
    return f"{at}_{metric}"


def main_split(metrics: dict) -> str:
    """The split a run is judged by: test when it has one, else dev."""
    return "test" if key("test", "macro_f1") in metrics else "dev"


def flat_metrics(at: str, result: dict) -> dict:
    """{'test_macro_f1': ..., 'test_f1_deny': ...} for MLflow and metadata."""
    out = {key(at, "accuracy"): result["accuracy"], key(at, "macro_f1"): result["macro_f1"]}
    for lab, m in result["per_class"].items():
        for k in ("precision", "recall", "f1"):
            out[key(at, f"{k}_{lab}")] = m[k]
    for k in ("fnc_score", "fnc_score_test_mix"):
        if k in result:
            out[key(at, k)] = result[k]
    return out
