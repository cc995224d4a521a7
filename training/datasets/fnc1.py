"""FNC-1 (Fake News Challenge, stage 1): the CSV loader, the story-disjoint dev split, the
official score and the bench table. The only module that knows FNC-1's labels."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from training.config import Config
from training.datasets import Corpus, _datasets, content_hash, to_splits
from training.errors import StanceError
from training.names import FNC_UNRELATED


FNC_FILES = {"train": ("train_bodies.csv", "train_stances.csv"),
             "test": ("competition_test_bodies.csv", "competition_test_stances.csv")}


def _read_fnc(folder: Path, which: str, labels: list[str]) -> list[dict]:
    bodies_file, stances_file = (folder / f for f in FNC_FILES[which])
    for f in (bodies_file, stances_file):
        if not f.is_file():
            env = "FNC1_DIR" if which == "train" else "FNC1_TEST_DIR"
            raise StanceError(f"{f}: FNC-1 file not found; set {env} to the folder holding "
                              f"{' and '.join(FNC_FILES[which])}")
    ds = _datasets()
    # Validate the header and labels with csv (it names the line), then load with datasets.
    with open(stances_file, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"Headline", "Body ID", "Stance"} - set(reader.fieldnames or [])
        if missing:
            raise StanceError(f"{stances_file}:1: missing column(s) {', '.join(sorted(missing))}")
        for r in reader:
            if r["Stance"] not in labels:
                raise StanceError(f"{stances_file}:{reader.line_num}: field 'Stance': unknown label {r['Stance']!r}; "
                                  f"valid labels: {', '.join(labels)}")
    cache = Path(".cache/hf-datasets").resolve()
    # Two calls: the builder wants one schema per call. Body IDs are read as text.
    def load(f, columns):
        return ds.load_dataset("csv", data_files=str(f), split="train", cache_dir=str(cache), keep_in_memory=True,
                               features=ds.Features({c: ds.Value("string") for c in columns}), keep_default_na=False)

    b = load(bodies_file, ["Body ID", "articleBody"])
    bodies = dict(zip(b["Body ID"], b["articleBody"]))
    stances = load(stances_file, ["Headline", "Body ID", "Stance"])
    rows = []
    for i, r in enumerate(stances):
        body_id = str(r["Body ID"])
        if body_id not in bodies:
            raise StanceError(f"{stances_file}:{i + 2}: field 'Body ID': {body_id} is not in {bodies_file.name}")
        headline = r["Headline"]
        rows.append({"id": f"{which}-{i}", "doc_id": f"body-{body_id}",
                     "claim_id": "h-" + hashlib.sha1(headline.encode("utf-8")).hexdigest()[:12],
                     "claim": headline, "sentence": bodies[body_id], "stance": r["Stance"], "tags": []})
    return rows


def story_split(rows: list[dict], dev_share: float, unrelated: str = FNC_UNRELATED) -> dict:
    """Hold out whole stories (story_dev). Pairs that would link a dev story with a train story
    (all of them unrelated) are dropped, so no headline and no body is on both sides, as in the
    competition test set, whose stories are new."""
    head, body, dev = story_dev(Counter((r["claim"], r["doc_id"], r["stance"]) for r in rows), dev_share, unrelated)
    out = {"train": [], "dev": [], "test": []}
    for r in rows:
        h, b = head[r["claim"]], body[r["doc_id"]]
        r = {**r, "group": h}  # the headline's story, for grouped cross-validation
        if h in dev and b in dev:
            out["dev"].append(r)
        elif h not in dev and b not in dev:
            out["train"].append(r)
    return out


def story_dev(counts: Counter, dev_share: float, unrelated: str = FNC_UNRELATED):
    """Stories from pair counts {(headline, body, stance): n}: headlines and bodies joined by
    related pairs form connected components; components join dev in a stable hash order until
    the pairs with BOTH ends in dev reach `dev_share` of all pairs. Returns (the story of each
    headline, of each body, the dev stories); the streamed loader calls it on its counts too."""
    parent = {}

    def find(x):  # with path halving; a story is named by its smallest member
        while parent.setdefault(x, x) != x:
            parent[x] = x = parent[parent[x]]
        return x

    for h, b, s in counts:
        a, c = find("h:" + h), find("b:" + b)
        if s != unrelated and a != c:
            parent[max(a, c)] = min(a, c)
    head, body = {h: find("h:" + h) for h, _, _ in counts}, {b: find("b:" + b) for _, b, _ in counts}
    touching = defaultdict(list)  # story -> distinct pairs with an end in it
    for key in counts:
        touching[head[key[0]]].append(key)
        if body[key[1]] != head[key[0]]:
            touching[body[key[1]]].append(key)
    dev, inside, target = set(), 0, dev_share * sum(counts.values())
    for story in sorted(touching, key=lambda c: hashlib.sha256(c.encode("utf-8")).hexdigest()):
        if inside >= target:
            break
        dev.add(story)
        inside += sum(counts[k] for k in touching[story] if head[k[0]] in dev and body[k[1]] in dev)
    return head, body, dev


def load(cfg: Config) -> Corpus:
    folder = Path(os.environ.get("FNC1_DIR") or cfg.data.path)
    rows = _read_fnc(folder, "train", cfg.data.labels)
    splits = story_split(rows, cfg.data.split.dev)
    files = [folder / f for f in FNC_FILES["train"]]
    test_dir = os.environ.get("FNC1_TEST_DIR") or cfg.data.test_path
    if test_dir:
        splits["test"] = _read_fnc(Path(test_dir), "test", cfg.data.labels)
        files += [Path(test_dir) / f for f in FNC_FILES["test"]]
    return Corpus(splits=to_splits(splits, cfg.data.labels), labels=list(cfg.data.labels),
                  hash=content_hash(files, extra=json.dumps(cfg.data.labels)), source=str(folder))


# --- the official score ---------------------------------------------------------------------

# The competition test set is 72.2% unrelated (18,349 of 25,413 pairs). A story-disjoint dev split
# has fewer unrelated pairs, which weighs the hard related labels more, so its raw FNC score is
# not comparable with published test scores; the reweighted score estimates one that is.
TEST_UNRELATED_SHARE = 18349 / 25413


def fnc_score(y_true, y_pred, unrelated: str = FNC_UNRELATED, unrelated_share: float | None = None) -> float:
    """Official FNC-1 score as a percentage of the best possible: 0.25 for getting
    related-vs-unrelated right, a further 0.75 for the exact label of a related pair.
    With `unrelated_share`, pairs are reweighted so that unrelated ones make up that share."""
    t, p = np.asarray(list(y_true), dtype=object), np.asarray(list(y_pred), dtype=object)
    if not len(t):
        return 0.0
    un = t == unrelated
    w = np.ones(len(t))
    if unrelated_share is not None and 0 < un.mean() < 1:
        w = np.where(un, unrelated_share / un.mean(), (1 - unrelated_share) / (1 - un.mean()))
    got = np.where(un == (p == unrelated), 0.25, 0.0) + np.where(~un & (t == p), 0.75, 0.0)
    return float(100.0 * np.sum(w * got) / np.sum(w * np.where(un, 0.25, 1.0)))


# --- the bench table (make bench-fnc1) ----------------------------------------------------------

ANCHORS = (("official baseline (competition test; 79.5% own dev)", "75.20%", "0.45", "", "17 min, 395 MB"),
           ("UCLMR, 3rd (competition test)", "81.72%", "0.56-0.58", "0.03-0.18", ""),
           ("Athene, 2nd (competition test)", "81.97%", "0.60", "0.03-0.18", ""),
           ("SOLAT in the SWEN, 1st (competition test)", "82.02%", "0.58", "0.03-0.18", ""),
           ("stackLSTM (Hanselowski et al. 2018, competition test)", "", "0.609", "", ""),
           ("feature MLP (Hanselowski et al. 2018, competition test)", "~82.5%", "", "", ""),
           ("RoBERTa fine-tuned on a GPU (competition test)", "~90%", "", "", ""))


def scores(y_true, y_pred) -> dict:
    """The official score, raw and reweighted to the competition test's class mix."""
    return {"fnc_score": fnc_score(y_true, y_pred),
            "fnc_score_test_mix": fnc_score(y_true, y_pred, unrelated_share=TEST_UNRELATED_SHARE)}


def bench_table(m: dict, model_type: str, wall: float, peak: float) -> str:
    """This package's FNC score, macro-F1 and disagree F1 beside the published anchors."""
    from training.evaluate import key, where
    majority_dev = where("dev", "majority")
    lines = ["\nFNC-1 (held-out dev: stories, headlines and bodies unseen in training)",
             f"{'system':52} {'FNC score':>10} {'macro-F1':>9} {'disagree F1':>12} {'time':>9} {'peak MB':>8}"]
    for split in ("dev", "test"):
        if key(split, "fnc_score") in m:
            lines.append(f"{'this package, ' + model_type + ' (' + split + ')':52} {m[key(split, 'fnc_score')]:9.2f}% "
                         f"{m[key(split, 'macro_f1')]:9.3f} {m[key(split, 'f1_disagree')]:12.3f} {wall:8.1f}s {peak:8.0f}")
    if key("dev", "fnc_score_test_mix") in m:
        lines.append(f"{'  same dev, reweighted to the test mix (estimate)':52} {m[key('dev', 'fnc_score_test_mix')]:9.2f}%")
    if key(majority_dev, "fnc_score") in m:
        lines.append(f"{'majority class (dev)':52} {m[key(majority_dev, 'fnc_score')]:9.2f}% "
                     f"{m[key(majority_dev, 'macro_f1')]:9.3f} {0.0:12.3f}")
    lines += [f"{name:52} {fs:>10} {f1:>9} {dis:>12} {tm:>9}" for name, fs, f1, dis, tm in ANCHORS]
    for split in ("dev", "test"):
        per = [(lab, m.get(key(split, f"f1_{lab}"))) for lab in ("agree", "disagree", "discuss", FNC_UNRELATED)]
        if all(v is not None for _, v in per):
            lines.append(f"per-class F1 ({split}): " + ", ".join(f"{lab} {v:.3f}" for lab, v in per))
    return "\n".join(lines)


# --- the decision's trade-off (two-stage models; reports/fnc_tradeoff.*) -------------------------

def tradeoff(clf, X, y, out: Path) -> list[dict]:
    """FNC score, macro-F1 and the rarest stage-2 label's F1 of `clf`'s decision on (X, y) over
    its stage-1 thresholds and that label's stage-2 weight, the other weights as fitted: the
    points `model.params.threshold` / `class_weights` can pick. Writes CSV and PNG to `out`."""
    from sklearn.metrics import f1_score
    y = np.asarray(y, dtype=object)
    related, p2 = clf.stage_scores(X)
    names, labels = list(clf.stage2_.classes_), list(clf.classes_)
    rare = min(names, key=lambda c: (np.sum(y == c), c))
    rows = []
    for t in sorted({float(v) for v in clf.THRESHOLDS} | {float(clf.threshold_)}):
        for w in sorted(set(clf.WEIGHTS) | {float(clf.weights_[names.index(rare)])}):
            weights = np.where(np.array(names) == rare, w, clf.weights_)
            pred = clf.decide(related, p2, t, weights)
            f1 = f1_score(y, pred, labels=labels, average=None, zero_division=0)
            rows.append({"threshold": float(t), f"weight_{rare}": float(w), "fnc_score": fnc_score(y, pred, clf.negative_label),
                         "macro_f1": float(f1.mean()), f"f1_{rare}": float(f1[labels.index(rare)]),
                         "fitted": bool(np.isclose(t, clf.threshold_) and np.isclose(w, clf.weights_[names.index(rare)]))})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "fnc_tradeoff.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _plot_tradeoff(rows, rare, out / "fnc_tradeoff.png")
    return rows


def _plot_tradeoff(rows: list[dict], rare: str, path: Path) -> None:
    from training.evaluate import _pyplot
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    thresholds = sorted({r["threshold"] for r in rows})
    for i, t in enumerate(thresholds):
        pts = [r for r in rows if r["threshold"] == t]
        ax.plot([r["macro_f1"] for r in pts], [r["fnc_score"] for r in pts], marker=".", lw=0.8, label=f"{t:.2f}",
                color=plt.cm.viridis(i / max(len(thresholds) - 1, 1)))
    for r in rows:
        if r["fitted"]:
            ax.plot(r["macro_f1"], r["fnc_score"], "k*", ms=14, label="fitted point")
    ax.set(xlabel="macro-F1", ylabel="FNC score (%)",
           title=f"one line per stage-1 threshold; along it, the {rare} weight grows")
    ax.legend(fontsize=7, ncol=2, title="threshold", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
