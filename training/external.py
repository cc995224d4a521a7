"""Labelled sets that are not the training corpus: read them, score a model and the cue-word
rule on them, print and write the result.

A set is JSON Lines with `claim`, `sentence` and `stance` (other fields are carried along).
Macro-F1 is taken over the labels present in the gold, so a set without `warn` is scored on
assert and deny; predicting an absent label still counts as an error (a missed recall).
Used by `python -m training evaluate` and by training (`evaluation.external`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from training.errors import StanceError

REQUIRED = ("claim", "sentence", "stance")


@dataclass
class LabelledSet:
    name: str
    path: str
    rows: list  # dicts with id, claim, sentence, stance (+ whatever else the file had)

    @cached_property
    def frame(self):
        import pandas as pd
        return pd.DataFrame({k: [r[k] for r in self.rows] for k in ("claim", "sentence", "stance")})

    @property
    def y(self) -> np.ndarray:
        return np.array([r["stance"] for r in self.rows], dtype=object)


def read_labelled(path, labels, name: str | None = None) -> LabelledSet:
    """Read and check a labelled JSONL set; a bad row is a one-line error naming file:line and field."""
    p = Path(path)
    if not p.is_file():
        raise StanceError(f"{p}: labelled set not found")
    from training.datasets import read_jsonl
    rows = []
    for at, r in read_jsonl(p):
        if not isinstance(r, dict):
            raise StanceError(f"{at}: expected a JSON object with fields {', '.join(REQUIRED)}")
        for k in REQUIRED:
            if not isinstance(r.get(k), str) or not r[k].strip():
                raise StanceError(f"{at}: field {k!r}: missing, empty or not a string")
        if r["stance"] not in labels:
            raise StanceError(f"{at}: field 'stance': unknown label {r['stance']!r}; "
                              f"the model's labels are {', '.join(labels)}")
        rows.append({"id": str(r.get("id", at)), "doc_id": str(r.get("doc_id", "")), **r})
    if not rows:
        raise StanceError(f"{p}: no labelled pairs in the file")
    return LabelledSet(name or p.stem, str(p), rows)


def load_configured(cfg, log) -> dict:
    """The sets named in `evaluation.external`; a missing path is skipped with a notice
    (a user's machine need not have the team's dev sets)."""
    out = {}
    for name, path in cfg.evaluation.external.items():
        if not Path(path).is_file():
            log(f"external {name}: {path} not found, skipped")
            continue
        out[name] = read_labelled(path, cfg.data.labels, name)
    return out


def evaluate_set(predictor, labelled: LabelledSet, rule_map: dict | None = None) -> dict:
    """Score an exported model and the cue-word rule on one labelled set."""
    from training import evaluate
    from training.models import CueRuleClassifier
    labels = predictor.labels
    claims = [r["claim"] for r in labelled.rows]
    sentences = [r["sentence"] for r in labelled.rows]
    pred, proba = predictor.predict_with_proba(claims, sentences)
    rule = CueRuleClassifier(label_map=rule_map).fit(None, labels).predict(labelled.frame)
    return {
        "input": labelled.path, "pairs": len(labelled.rows), "labels": labels,
        "model": evaluate.scores(labelled.y, pred, labels),
        "cue_rule": evaluate.scores(labelled.y, rule, labels),
        "predictions": [{"id": r["id"], "gold": r["stance"], "predicted": p,
                         "proba": {lab: round(float(x), 6) for lab, x in zip(labels, pr)}}
                        for r, p, pr in zip(labelled.rows, pred, proba)],
    }


def format_report(result: dict) -> str:
    """The table `evaluate` prints: macro-F1, per-class scores and confusion, model beside rule."""
    labels, m, r = result["labels"], result["model"], result["cue_rule"]
    present = m["present"]
    out = [f"{result['input']}: {result['pairs']} pairs; gold labels present: {', '.join(present)}",
           f"macro-F1 over the labels present: model {m['macro_f1']:.3f}, cue-word rule {r['macro_f1']:.3f}",
           f"accuracy: model {m['accuracy']:.3f}, cue-word rule {r['accuracy']:.3f}", "",
           f"{'label':10} {'support':>7}  {'model P':>7} {'R':>6} {'F1':>6}   {'rule P':>6} {'R':>6} {'F1':>6}"]
    for lab in labels:
        a, b = m["per_class"][lab], r["per_class"][lab]
        out.append(f"{lab:10} {a['support']:7}  {a['precision']:7.3f} {a['recall']:6.3f} {a['f1']:6.3f}   "
                   f"{b['precision']:6.3f} {b['recall']:6.3f} {b['f1']:6.3f}")
    for name, res in (("model", m), ("cue-word rule", r)):
        out += ["", f"confusion, {name} (rows gold, columns predicted)",
                f"{'':10} " + " ".join(f"{lab:>8}" for lab in labels)]
        out += [f"{lab:10} " + " ".join(f"{v:8}" for v in row) for lab, row in zip(labels, res["confusion"])]
    return "\n".join(out)


def write_output(out_dir, result: dict) -> list[Path]:
    """evaluation.json (everything printed, plus per-pair predictions) and confusion PNGs."""
    from training import evaluate
    d = Path(out_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StanceError(f"{d}: cannot create the output directory ({e.strerror})") from None
    path = d / "evaluation.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files = [path]
    for name in ("model", "cue_rule"):
        files += evaluate.plot_confusion(d, name, result[name], result["labels"])
    return files
