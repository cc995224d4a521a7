"""Datasets behind one seam: `load_corpus(cfg)` picks the loader named by `data.format`.

Every loader returns the same `Corpus`: train/dev/test `datasets.Dataset`s with the columns
id, doc_id, claim_id, claim, sentence, stance, tags (and label, group), so nothing after loading
knows which dataset it is.
- jsonl (training/datasets/jsonl.py): `data/pairs/*.jsonl` + `seeds/<doc_id>.txt`, the contract in
  the spec; its statistics, quotas and second-pass agreement (`make data`);
- fnc1 (training/datasets/fnc1.py): the FNC-1 CSVs (claim = headline, sentence = article body),
  its story split, its score and its bench table.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from training.config import Config
from training.errors import StanceError

FIELDS = ("id", "doc_id", "claim_id", "claim", "sentence", "stance")
OPTIONAL = ("tags",)
SPLITS = ("train", "dev", "test")


@dataclass
class Corpus:
    splits: dict  # split name -> datasets.Dataset (a split may have 0 rows)
    labels: list[str]
    hash: str
    source: str
    documents: dict = field(default_factory=dict)  # doc_id -> {"domain", "title"} when known

    def frame(self, split: str):
        return self.splits[split].to_pandas()

    def rows(self, split: str) -> list[dict]:
        return self.splits[split].to_list()


def _datasets():
    # Offline by default: the package never fetches from a hub.
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    import datasets
    datasets.disable_progress_bars()
    return datasets


def doc_bucket(doc_id: str) -> float:
    """A number in [0, 1) fixed by the doc_id alone, so adding documents never moves others."""
    return int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:15], 16) / 16 ** 15


def split_of(doc_id: str, shares) -> str:
    b = doc_bucket(doc_id)
    if b < shares.test:
        return "test"
    if b < shares.test + shares.dev:
        return "dev"
    return "train"


def read_jsonl(path):
    """("file:line", object) for each non-blank line; malformed JSON is a one-line error."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield f"{path}:{n}", json.loads(line)
                except json.JSONDecodeError as e:
                    raise StanceError(f"{path}:{n}: malformed JSON ({e.msg} at column {e.colno})") from None


def content_hash(paths, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode("utf-8"))
    for p in sorted(paths, key=str):
        h.update(str(Path(p).name).encode("utf-8") + b"\0")
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def to_splits(rows_by_split: dict, labels: list[str]) -> dict:
    ds = _datasets()
    features = ds.Features({
        "id": ds.Value("string"), "doc_id": ds.Value("string"), "claim_id": ds.Value("string"),
        "claim": ds.Value("string"), "sentence": ds.Value("string"), "stance": ds.Value("string"),
        "label": ds.ClassLabel(names=list(labels)),  # configured order, never alphabetical
        "tags": ds.Sequence(ds.Value("string")),
        "group": ds.Value("string"),  # what cross-validation groups by: document, or FNC-1 story
    })
    out = {}
    for name in SPLITS:
        rows = [{**{k: r[k] for k in FIELDS}, "tags": r.get("tags", []), "label": labels.index(r["stance"]),
                 "group": r.get("group", r["doc_id"])} for r in rows_by_split.get(name, [])]
        out[name] = (ds.Dataset.from_list(rows, features=features) if rows
                     else ds.Dataset.from_dict({k: [] for k in features}, features=features))
    return out


def load_corpus(cfg: Config) -> Corpus:
    """The corpus of `data.format` (training.names.DATA_FORMATS), split and validated."""
    from training.datasets import fnc1, jsonl
    loaders = {"jsonl": jsonl.load, "fnc1": fnc1.load}
    return loaders[cfg.data.format](cfg)
