"""Load an exported model directory and predict: the predictor contract.

    from training.predict import load_predictor
    p = load_predictor("models/stance")
    p.labels; p.predict(claims, sentences); p.predict_proba(claims, sentences)
    p.relevance(claims, sentences)  # P(the sentence takes any stance toward the claim)

Imports neither mlflow nor datasets: only joblib, scikit-learn (via the pickle) and pandas.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import numpy as np

from training.errors import StanceError

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
RELEVANCE_FILE = "relevance.joblib"


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ordered_proba(classes, raw: np.ndarray, labels) -> np.ndarray:
    """predict_proba columns come in the classifier's class order; reorder them to `labels`
    (a label the classifier never saw gets 0)."""
    classes = [str(c) for c in classes]
    out = np.zeros((len(raw), len(labels)))
    for j, lab in enumerate(labels):
        if lab in classes:
            out[:, j] = raw[:, classes.index(lab)]
    return out


def decision_rule(clf) -> dict:
    """How a classifier turns its probabilities into a label, as data the Spark engine can apply
    without the classifier: argmax, or the two-stage model's threshold and class weights."""
    if getattr(clf, "predict_is_argmax", False):
        return {"kind": "argmax"}
    if hasattr(clf, "threshold_") and hasattr(clf, "weights_"):
        return {"kind": "two_stage", "negative": str(clf.negative_label), "threshold": float(clf.threshold_),
                "weights": {str(c): float(w) for c, w in zip(clf.stage2_.classes_, clf.weights_)}}
    return {"kind": "argmax"}  # scikit-learn classifiers predict the argmax of predict_proba


def decide(rule: dict, classes: list[str], proba: np.ndarray) -> list[str]:
    """The label per row of `proba` (columns in `classes` order) under `rule`."""
    classes = list(classes)
    if rule["kind"] == "argmax":
        return [classes[j] for j in np.argmax(proba, axis=1)]
    neg = classes.index(rule["negative"])
    second = [c for c in classes if c in rule["weights"]]
    cols = [classes.index(c) for c in second]
    # the model compares p2 * w, with p2 = proba / related: dividing by related keeps the argmax
    pick = np.argmax(proba[:, cols] * np.array([rule["weights"][c] for c in second]), axis=1)
    related = 1 - proba[:, neg]
    return [rule["negative"] if r < rule["threshold"] else second[k] for r, k in zip(related, pick)]


class Predictor:
    """A fitted pipeline plus its labels. Use `load_predictor` to make one."""

    def __init__(self, pipeline, labels, metadata, directory=None):
        self.pipeline = pipeline
        self.labels = list(labels)
        self.metadata = metadata
        self.directory = directory
        self._relevance = None

    @property
    def has_relevance(self) -> bool:
        return "relevance" in self.metadata

    @property
    def relevance_threshold(self) -> float:
        """The threshold chosen on the dev documents (document mode's `none` below it)."""
        return float(self._relevance_meta()["threshold"])

    def _relevance_meta(self) -> dict:
        if not self.has_relevance:
            raise StanceError("this model has no relevance stage (trained before it existed, or on a corpus without "
                              "documents); retrain with `make train`")
        return self.metadata["relevance"]

    def relevance(self, claims, sentences, document: bool = False, paragraphs=None) -> np.ndarray:
        """Array (n_pairs,): the probability that each sentence takes any stance (assert, deny or
        warn) toward its claim. Each pair is judged on its own; with `document=True` the pairs of
        each claim are read as one document's sentences in the order given, and its neighbours
        and, given `paragraphs` (a paragraph number per pair), its paragraph count too (what
        document mode does; the stored threshold is for that)."""
        X = self._frame(claims, sentences)
        if paragraphs is not None:
            if not document or len(paragraphs) != len(X):
                raise StanceError("paragraphs: give one paragraph number per pair, with document=True")
            X["paragraph"] = np.asarray(paragraphs, dtype=float)
        if not len(X):
            return np.zeros(0)
        if self._relevance is None:
            meta = self._relevance_meta()
            path = Path(self.directory) / meta["file"]
            _check_file(path, meta["sha256"])
            import joblib
            self._relevance = joblib.load(path)
        return self._relevance.in_document(X) if document else self._relevance.relevance(X)

    def _frame(self, claims, sentences):
        import pandas as pd

        for name, seq in (("claims", claims), ("sentences", sentences)):
            if isinstance(seq, str) or not hasattr(seq, "__len__"):
                raise StanceError(f"{name}: expected a sequence of strings, got {type(seq).__name__}")
        if len(claims) != len(sentences):
            raise StanceError(f"claims and sentences must have equal length, got {len(claims)} and {len(sentences)}")
        for name, seq in (("claims", claims), ("sentences", sentences)):
            for i, s in enumerate(seq):
                if not isinstance(s, str):
                    raise StanceError(f"{name}[{i}]: expected a string, got {type(s).__name__} {s!r}")
        return pd.DataFrame({"claim": list(claims), "sentence": list(sentences)})

    def _ordered(self, raw: np.ndarray) -> np.ndarray:
        return ordered_proba(self.pipeline.classes_, raw, self.labels)

    def predict_proba(self, claims, sentences) -> np.ndarray:
        """Array (n_pairs, len(labels)); column j is the probability of labels[j]."""
        X = self._frame(claims, sentences)
        if not len(X):
            return np.zeros((0, len(self.labels)))
        return self._ordered(self.pipeline.predict_proba(X))

    def predict(self, claims, sentences) -> list[str]:
        """One label per pair: the pipeline's own decision (which may apply tuned thresholds,
        so it can differ from the argmax of predict_proba)."""
        X = self._frame(claims, sentences)
        return [str(v) for v in self.pipeline.predict(X)] if len(X) else []

    def predict_with_proba(self, claims, sentences) -> tuple[list[str], np.ndarray]:
        """`predict` and `predict_proba` together, featurizing each pair once (the CLI uses it)."""
        X = self._frame(claims, sentences)
        if not len(X):
            return [], np.zeros((0, len(self.labels)))
        features, clf = self.pipeline[:-1].transform(X), self.pipeline[-1]
        raw = clf.predict_proba(features)
        if getattr(clf, "predict_is_argmax", False):  # one pass through the model instead of two
            return [str(v) for v in clf.classes_[np.argmax(raw, axis=1)]], self._ordered(raw)
        return [str(v) for v in clf.predict(features)], self._ordered(raw)


def load_predictor(path) -> Predictor:
    """Load `models/<name>/`, checking the model file's checksum and the scikit-learn version."""
    d = Path(path)
    restore_interrupted(d)
    if not d.is_dir():
        raise StanceError(f"{d}: model directory not found; train one with `make train` (writes models/<config name>/)")
    meta_path, model_path = d / METADATA_FILE, d / MODEL_FILE
    for p in (meta_path, model_path):
        if not p.is_file():
            raise StanceError(f"{p}: missing; {d} is not a complete model directory, retrain with `make train`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        labels, expected, trained_with = meta["labels"], meta["model_sha256"], meta["versions"]["scikit-learn"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise StanceError(f"{meta_path}: unreadable metadata ({e}); retrain with `make train`") from None
    _check_file(model_path, expected)
    import sklearn

    if sklearn.__version__ != trained_with:
        raise StanceError(f"{d}: trained with scikit-learn {trained_with}, but {sklearn.__version__} is installed; "
                          f"install scikit-learn=={trained_with} or retrain with `make train`")
    import joblib

    return Predictor(joblib.load(model_path), labels, meta, d)


def _check_file(path: Path, expected: str) -> None:
    if not path.is_file():
        raise StanceError(f"{path}: missing; {path.parent} is not a complete model directory, retrain with `make train`")
    actual = file_sha256(path)
    if actual != expected:
        raise StanceError(f"{path}: checksum mismatch (file was modified or corrupted: sha256 {actual[:12]}…, "
                          f"metadata says {expected[:12]}…); retrain with `make train`")


def restore_interrupted(target: Path) -> bool:
    """Put the previous model back when a run was stopped between the two renames of its swap
    (export.publish): `target` missing, `.<name>.old-<pid>` beside it. True if one was restored."""
    target = Path(target)
    if target.exists() or not target.parent.is_dir() or not any(target.parent.glob(f".{target.name}.old-*")):
        return False
    with swap_lock(target):  # a swap in progress holds it: its missing target is not an interrupt
        old = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
        if target.exists() or not old:
            return False
        old[-1].rename(target)
        return True


@contextlib.contextmanager
def swap_lock(target: Path):
    """The lock beside a model directory (`.<name>.lock`) that its swaps and restores take turns on."""
    import fcntl
    with open(target.parent / f".{target.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
