"""Write the model directory: model.joblib + metadata.json, atomically.

Everything is written into a temporary sibling directory and swapped in at the end, so a
failed or interrupted run never leaves a half-written model nor replaces a good one.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib

from training.predict import METADATA_FILE, MODEL_FILE, RELEVANCE_FILE, file_sha256, swap_lock


def library_versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for p in ("scikit-learn", "numpy", "scipy", "pandas", "joblib", "datasets", "mlflow"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def staging_dir(target: Path) -> Path:
    """A fresh temporary directory beside `target` (same filesystem, so the swap is a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))


def write_model(stage: Path, pipeline, metadata: dict) -> dict:
    """Dump the pipeline and metadata (with the model file's checksum) into `stage`."""
    joblib.dump(pipeline, stage / MODEL_FILE, compress=3)
    metadata = {**metadata, "model_file": MODEL_FILE, "model_sha256": file_sha256(stage / MODEL_FILE)}
    (stage / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return metadata


def write_relevance(stage: Path, model, threshold: float) -> dict:
    """Dump the relevance model beside model.joblib; returns its metadata entry."""
    joblib.dump(model, stage / RELEVANCE_FILE, compress=3)
    return {"file": RELEVANCE_FILE, "sha256": file_sha256(stage / RELEVANCE_FILE), "threshold": threshold}


def publish(stage: Path, target: Path) -> None:
    """Swap `stage` in as `target`; the previous model is removed only after the swap. Two runs
    publishing the same name take turns (a lock file beside it), so the last one wins whole."""
    with swap_lock(target):
        _swap(stage, target)


def _swap(stage: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
    try:
        os.rename(stage, target)
    except BaseException:  # OSError, or an interrupt between the renames: put the good model back
        if old is not None and not target.exists():
            os.rename(old, target)
        raise
    for stale in target.parent.glob(f".{target.name}.old-*"):  # ours, and any an interrupt left
        shutil.rmtree(stale, ignore_errors=True)


def discard(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)
