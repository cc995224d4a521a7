"""The hard-pair trade-off, measured: retrain the configured model with other hard-pair
weights (and, for `stacked`, other meaning shares) and score each variant on the natural and
hard slices of dev and test and on every external set. Writes tradeoff.csv/.json and a plot.

Features are fitted once (they do not depend on the weights); only the classifier is refit.
Nothing is logged to MLflow and no model is exported: this is a measurement, not a run.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path


from training import external as ext_sets
from training.errors import StanceError
from training.evaluate import external, key
from training.datasets import load_corpus
from training.features import fit_transform_splits
from training.models import DEFAULTS, build_classifier, fit_classifier
from training.pipeline import hard_mask, score_into, stance_training_pairs, train_weights

SLICES = ("test_natural", "test_hard", "dev_natural", "dev_hard")


def chosen_point(cfg) -> tuple:
    """(hard weight, meaning share) of the configured model; the share is None unless stacked."""
    share = {**DEFAULTS["stacked"], **cfg.model.params}["meaning_share"] if cfg.model.type == "stacked" else None
    return cfg.data.hard_weight, share


def measure(cfg, hard_weights, meaning_shares, log) -> list[dict]:
    """One row per (hard weight, meaning share): the macro-F1 of every slice and set."""
    corpus = load_corpus(cfg)
    frames = {s: corpus.frame(s) for s in ("train", "dev", "test")}
    frames["train"] = stance_training_pairs(cfg, frames["train"], log)  # as pipeline.run trains
    externals = ext_sets.load_configured(cfg, log)
    y = {s: frames[s]["stance"].to_numpy(dtype=object) for s in frames}
    feats, mats, _ = fit_transform_splits(cfg, corpus.hash, frames, y["train"], log=log)
    ext_mats = {n: feats.transform(e.frame[["claim", "sentence"]]) for n, e in externals.items()}
    rows = []
    for hw in hard_weights:
        cfg.data.hard_weight = float(hw)
        t = time.perf_counter()
        clf = fit_classifier(build_classifier(cfg), mats["train"], y["train"], frames["train"]["group"].to_numpy(),
                             train_weights(cfg, frames["train"]))
        log(f"hard weight {hw:g}: fitted in {time.perf_counter() - t:.1f}s")
        for share in (meaning_shares if cfg.model.type == "stacked" else [None]):
            if share is not None:
                clf.meaning_share = float(share)
            rows.append(_score(cfg, clf, hw, share, mats, frames, y, externals, ext_mats, corpus.labels))
    return rows


def _score(cfg, clf, hw, share, mats, frames, y, externals, ext_mats, labels) -> dict:
    m = {}
    for split in ("dev", "test"):
        if len(frames[split]):
            score_into(m, split, y[split], clf.predict(mats[split]), labels, hard_mask(frames[split]))
    for name, e in externals.items():
        score_into(m, f"external_{name}", e.y, clf.predict(ext_mats[name]), labels)
    row = {"hard_weight": hw, "meaning_share": share}
    row.update({k: m.get(key(k, "macro_f1")) for k in SLICES})
    row.update({external(n): m[key(external(n), "macro_f1")] for n in externals})
    return row


def write(rows: list[dict], out: Path, chosen: tuple, rule: dict) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0])
    with open(out / "tradeoff.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    (out / "tradeoff.json").write_text(json.dumps({"rows": rows, "chosen": chosen, "cue_rule": rule}, indent=2) + "\n",
                                      encoding="utf-8")
    return [out / "tradeoff.csv", out / "tradeoff.json", _plot(rows, out / "tradeoff.png", chosen, rule)]


def _plot(rows, path: Path, chosen: tuple, rule: dict) -> Path:
    from training.evaluate import _pyplot
    plt = _pyplot()
    metrics = [k for k in rows[0] if k not in ("hard_weight", "meaning_share", "dev_natural", "dev_hard")]
    shares = sorted({r["meaning_share"] for r in rows if r["meaning_share"] is not None})
    panels = [("hard_weight", "meaning_share", chosen[1], "training weight of hard pairs")]
    if len(shares) > 1:
        panels.append(("meaning_share", "hard_weight", chosen[0], "share of the meaning booster in the blend"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False)
    for ax, (x, fixed, value, label) in zip(axes[0], panels):
        sel = sorted((r for r in rows if r[fixed] == value), key=lambda r: r[x])
        for k, color in zip(metrics, plt.rcParams["axes.prop_cycle"].by_key()["color"]):
            ax.plot([r[x] for r in sel], [r[k] for r in sel], marker="o", label=k.replace("external_", ""), color=color)
            if k in rule:
                ax.axhline(rule[k], color=color, linestyle=":", linewidth=1)
        ax.axvline(chosen[0] if x == "hard_weight" else chosen[1], color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel(label + (f" ({fixed.replace('_', ' ')} {value:g})" if value is not None else ""))
        ax.set_ylabel("macro-F1")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Hard pairs against real text (dotted: cue-word rule; dashed: the shipped config)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rule_scores(cfg, log) -> dict:
    """The cue-word rule on the same slices and sets, for the plot's reference lines."""
    from training.models import CueRuleClassifier
    corpus = load_corpus(cfg)
    rule = CueRuleClassifier(label_map=dict(cfg.evaluation.cue_rule_labels))
    m = {}
    test = corpus.frame("test")
    rule.fit(test, test["stance"])
    score_into(m, "test", test["stance"], rule.predict(test), corpus.labels, hard_mask(test))
    out = {k: m.get(key(k, "macro_f1")) for k in ("test_natural", "test_hard")}
    for name, e in ext_sets.load_configured(cfg, log).items():
        out[external(name)] = score_into({}, "x", e.y, rule.predict(e.frame), corpus.labels)["macro_f1"]
    return out


def parse_floats(text: str, flag: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise StanceError(f"{flag}: expected comma-separated numbers like 0,0.5,1, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise StanceError(f"{flag}: expected non-negative numbers, got {text!r}")
    return values
