"""Relevance: the probability that a sentence takes any stance (assert, deny or warn) toward a
claim at all, so document mode can report the sentences that say nothing about it as `none`.

Training pairs come from the corpus documents (README "Relevance" has the sample check):
- positives: the annotated sentences of each claim;
- negatives: every other sentence of the claim's own document (same topic, other claims: the
  pairs that decide whether the model reads the claim or only the topic), plus sentences of
  other documents.
It is evaluated like document mode uses it: each test document against its own claims.

The package: `model` (the two-stage RelevanceModel), `context` (the document columns its
rounds read); this module builds the pairs, trains, chooses the threshold and scores.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from training.relevance.model import RelevanceModel
from training.text import split_lines

__all__ = ["RelevanceModel", "best_threshold", "document_pairs", "other_document_pairs", "scores", "train",
           "train_job", "wanted"]


# --- candidate pairs from the documents ----------------------------------------------------

def document_pairs(frame, seeds_dir: Path) -> list[dict]:
    """Each document's claims against every sentence of the document (`split_sentences`): a
    sentence is relevant to a claim when it lies inside a sentence annotated for that claim."""
    out = []
    for doc, rows in frame.groupby("group", sort=True):
        lines = split_lines((Path(seeds_dir) / f"{doc}.txt").read_text(encoding="utf-8"))
        pieces = [(k, s) for k, line in enumerate(lines) for s in line]
        for claim, sub in rows.groupby("claim", sort=True):
            annotated = list(sub["sentence"])
            for i, (k, p) in enumerate(pieces):
                out.append({"doc": doc, "claim": claim, "sentence": p, "index": i, "paragraph": k,
                            "relevant": int(any(p in a for a in annotated))})
    return out


def other_document_pairs(pairs: list[dict], per_claim: int, seed: int) -> list[dict]:
    """`per_claim` sentences of other documents for each claim: the easy negatives a reader of
    one article never meets, but a claim run over the wrong article does."""
    rng = random.Random(seed)
    sentences = [(p["doc"], p["sentence"]) for p in pairs]
    out = []
    for doc, claim in sorted({(p["doc"], p["claim"]) for p in pairs}):
        picked = 0
        while picked < per_claim and len(sentences) > 1:
            d, s = rng.choice(sentences)
            if d != doc:
                out.append({"doc": doc, "claim": claim, "sentence": s, "index": -1, "relevant": 0})
                picked += 1
    return out


# --- training and evaluation (called by the pipeline) ---------------------------------------

def train(cfg, frames: dict, log) -> tuple[RelevanceModel, float, dict]:
    """Fit on the train documents, choose the threshold on the dev documents (best F1), score
    the test documents against their own claims. Returns (model, threshold, metrics)."""
    import pandas as pd
    t = time.perf_counter()
    pairs = {s: pd.DataFrame(document_pairs(frames[s], cfg.data.seeds_dir)) if len(frames[s]) else None
             for s in ("train", "dev", "test")}
    train_rows = pairs["train"]
    other = other_document_pairs(train_rows.to_dict("records"), cfg.relevance.other_documents, cfg.seed)
    if other:
        train_rows = pd.concat([train_rows, pd.DataFrame(other)], ignore_index=True)
    r = cfg.relevance
    model = RelevanceModel(rounds=r.rounds, folds=r.folds, max_iter=r.max_iter, learning_rate=r.learning_rate,
                           vectors=r.vectors, random_state=cfg.seed)
    model.fit(train_rows, train_rows["relevant"])
    # each split scored once: in the document, and per pair alone (stage 1 of the same pass)
    scored = {s: model.in_document(pairs[s], with_pairwise=True) for s in ("dev", "test") if pairs[s] is not None}
    pick = "dev" if "dev" in scored else "train"
    threshold = best_threshold(pairs[pick]["relevant"].to_numpy(),
                               scored["dev"][0] if pick == "dev" else model.in_document(pairs["train"]))
    metrics = {"relevance_threshold": threshold, "relevance_train_pairs": len(train_rows)}
    for s, (p, alone) in scored.items():
        metrics.update(scores(f"relevance_{s}", pairs[s]["relevant"].to_numpy(), p, alone, threshold))
    metrics["relevance_seconds"] = time.perf_counter() - t
    main = "test" if pairs["test"] is not None else "dev"
    log(f"relevance ({main} documents against their own claims): ROC AUC {metrics[f'relevance_{main}_roc_auc']:.3f}, "
        f"at threshold {threshold:.2f} (chosen on {pick}) precision {metrics[f'relevance_{main}_precision']:.3f} "
        f"recall {metrics[f'relevance_{main}_recall']:.3f}; per pair alone ROC AUC "
        f"{metrics[f'relevance_{main}_pair_roc_auc']:.3f} ({metrics['relevance_seconds']:.1f}s)")
    return model, threshold, metrics


def wanted(cfg, log) -> bool:
    """Whether the run trains relevance: it needs documents to split (data.format jsonl)."""
    if cfg.relevance.enabled and cfg.data.format != "jsonl":
        log(f"relevance: skipped, data.format {cfg.data.format!r} has no documents to split (set relevance.enabled: false)")
    return cfg.relevance.enabled and cfg.data.format == "jsonl"


def train_job(cfg, frames: dict) -> tuple:
    """`train` in a worker process: (model, threshold, metrics, the lines it logged)."""
    lines = []
    model, threshold, metrics = train(cfg, frames, lines.append)
    return model, threshold, metrics, lines


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut with the best F1 (ties: the higher cut)."""
    from sklearn.metrics import precision_recall_curve
    if y.min() == y.max():
        return 0.5
    prec, rec, cuts = precision_recall_curve(y, p)
    f1 = 2 * prec[:-1] * rec[:-1] / np.maximum(prec[:-1] + rec[:-1], 1e-12)
    return float(cuts[int(np.flatnonzero(f1 == f1.max())[-1])])


def scores(prefix: str, y: np.ndarray, p: np.ndarray, alone: np.ndarray, threshold: float) -> dict:
    """Metrics of relevance `p` (in the document) and `alone` (per pair) against the labels `y`."""
    from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
    hit = p >= threshold
    out = {f"{prefix}_pairs": len(y), f"{prefix}_relevant_share": float(y.mean()),
           f"{prefix}_precision": float(precision_score(y, hit, zero_division=0)),
           f"{prefix}_recall": float(recall_score(y, hit, zero_division=0))}
    if y.min() != y.max():
        out.update({f"{prefix}_roc_auc": float(roc_auc_score(y, p)), f"{prefix}_average_precision":
                    float(average_precision_score(y, p)), f"{prefix}_pair_roc_auc": float(roc_auc_score(y, alone))})
    out[f"{prefix}_f1"] = 2 * out[f"{prefix}_precision"] * out[f"{prefix}_recall"] / max(
        out[f"{prefix}_precision"] + out[f"{prefix}_recall"], 1e-12)
    return out
