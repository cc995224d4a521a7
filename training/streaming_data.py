"""A corpus read as a stream through Hugging Face `datasets` (`load_dataset(..., streaming=True)`).
One checking pass learns what a run must know first (split sizes, label counts, the corpus hash,
FNC-1's story split); then `Stream.batches` yields DataFrames of at most `data.batch_size` pairs.
No pass keeps the pairs: what is kept grows with distinct claims and documents (FNC-1: ~1,700
bodies, a count per distinct headline-body-stance), so eight copies of a corpus cost what one does.
The splits are the in-memory loaders': jsonl by `split_of(doc_id)` itself; fnc1 by `fnc1.story_dev`,
which `story_split` uses too, run on those counts (so the same dev pairs).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from training.datasets import FIELDS, OPTIONAL, _datasets, read_jsonl, split_of
from training.datasets.fnc1 import FNC_FILES, story_dev
from training.errors import StanceError


@dataclass
class Stream:
    """What the validating pass learned, and batches on demand."""
    cfg: object
    labels: list
    source: str
    hash: str
    sizes: dict  # split -> pairs
    fit_counts: Counter  # label -> train pairs the model learns from (data.train_skip_tags left out)
    open_split: object = field(repr=False)  # (split, tags to skip) -> datasets.IterableDataset of its rows

    def batches(self, split: str, epoch: int | None = None, skip_tags=()):
        """DataFrames of at most data.batch_size pairs (id, doc_id, claim, sentence, stance, tags, group);
        with `epoch`, shuffled in a buffer of data.shuffle_buffer pairs (SGD must not see a document at once)."""
        import pandas as pd
        ds = self.open_split(split, frozenset(skip_tags))
        if epoch is not None and self.cfg.data.shuffle_buffer:
            ds = ds.shuffle(seed=self.cfg.seed, buffer_size=self.cfg.data.shuffle_buffer)
            ds.set_epoch(epoch)
        for batch in ds.iter(batch_size=self.cfg.data.batch_size):
            yield pd.DataFrame(batch)


def open_stream(cfg) -> Stream:
    """Check and count the corpus of `data.format` in one streamed pass."""
    stream = {"jsonl": _jsonl, "fnc1": _fnc1}[cfg.data.format](cfg)
    if not stream.fit_counts:
        raise StanceError(f"{cfg.data.path}: no train pairs to learn from; add documents, raise data.split.train "
                          f"or skip fewer data.train_skip_tags")
    return stream


def file_hash(paths, extra: str = "") -> str:
    """`training.datasets.content_hash`, read in chunks (the same digest, no whole file in memory)."""
    h = hashlib.sha256(extra.encode("utf-8"))
    for p in sorted(paths, key=str):
        h.update(str(Path(p).name).encode("utf-8") + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


# --- jsonl: data/pairs/*.jsonl ----------------------------------------------------------------

def _row_problem(r: dict, labels) -> str | None:
    """The contract's field checks (training.datasets.jsonl.read_pairs), one row at a time."""
    for k, v in r.items():
        if k not in FIELDS + OPTIONAL and v is not None:
            return f"field {k!r}: unknown field; valid fields: {', '.join(FIELDS + OPTIONAL)}"
    for k in FIELDS:
        if not isinstance(r.get(k), str) or not r[k].strip():
            return f"field {k!r}: missing, empty or not a string"
    tags = r.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return f"field 'tags': expected a list of strings, got {json.dumps(tags)}"
    if r["stance"] not in labels:
        return f"field 'stance': unknown label {r['stance']!r}; valid labels: {', '.join(labels)}"
    return None


def _checked_rows(ds, path: Path, labels):
    """(file:line as a callable, row) for each row of one file's stream, checked; lines are counted only when asked."""
    def at(row):
        with open(path, encoding="utf-8") as fh:  # the reader skips blank lines
            return f"{path}:{[n for n, line in enumerate(fh, 1) if line.strip()][row]}"
    try:
        for n, r in enumerate(ds):
            problem = _row_problem(r, labels)
            if problem:
                raise StanceError(f"{at(n)}: {problem}")
            yield (lambda n=n: at(n)), r
    except StanceError:
        raise
    except Exception as e:  # the JSON reader raises several types for one bad line
        for _ in read_jsonl(path):  # names file:line for malformed JSON
            pass
        raise StanceError(f"{path}: not readable as JSON Lines ({str(e).splitlines()[0]})") from None


def _jsonl(cfg) -> Stream:
    root, labels, shares, skip = Path(cfg.data.path), cfg.data.labels, cfg.data.split, set(cfg.data.train_skip_tags)
    if not root.exists():
        raise StanceError(f"{cfg.where('data.path')}: {root} does not exist; point it at a folder of *.jsonl files")
    files = [root] if root.is_file() else sorted(root.glob("*.jsonl"))
    if not files:
        raise StanceError(f"{root}: no *.jsonl files found; add annotations (see data/ANNOTATION.md)")
    ds = _datasets()
    # a stream per file, so an error names the file; no schema, so a wrong type shows as one
    per_file = ds.load_dataset("json", data_files={f"f{i}": str(f) for i, f in enumerate(files)}, streaming=True)
    sizes, fit_counts, claim_split, docs = Counter(), Counter(), {}, set()
    for i, path in enumerate(files):
        for at, r in _checked_rows(per_file[f"f{i}"], path, labels):
            s = split_of(r["doc_id"], shares)
            first = claim_split.setdefault(r["claim_id"], (s, path.name))
            if first[0] != s:
                raise StanceError(f"{at()}: field 'claim_id': claim {r['claim_id']!r} has sentences in the {first[0]} "
                                  f"split (in {first[1]}) and the {s} split; a claim must stay within one document")
            sizes[s] += 1
            docs.add(r["doc_id"])
            fit_counts[r["stance"]] += s == "train" and not skip & set(r.get("tags") or [])
    seeds = [Path(cfg.data.seeds_dir) / f"{d}.txt" for d in sorted(docs)]  # hashed with the pairs, as jsonl.load does
    for p in seeds:
        if not p.is_file():
            raise StanceError(f"{cfg.where('data.seeds_dir')}: no document {p}")
    features = ds.Features({**{k: ds.Value("string") for k in FIELDS}, "tags": ds.Sequence(ds.Value("string"))})

    def open_split(split, skip):
        def select(b):
            keep = [i for i, (d, t) in enumerate(zip(b["doc_id"], b["tags"])) if split_of(d, shares) == split
                    and not skip & set(t or [])]
            return {**{k: [b[k][i] for i in keep] for k in FIELDS}, "tags": [b["tags"][i] or [] for i in keep],
                    "group": [b["doc_id"][i] for i in keep]}
        # checked above, so a schema is safe now (it fills a missing `tags`)
        rows = ds.load_dataset("json", data_files=[str(f) for f in files], split="train", streaming=True, features=features)
        return rows.map(select, batched=True, remove_columns=list(features))  # one map, see _select

    return Stream(cfg, list(labels), str(root), file_hash(files + seeds, json.dumps(labels)), dict(sizes), +fit_counts,
                  open_split)


# --- fnc1: train_stances.csv + train_bodies.csv -----------------------------------------------

def _csv_stream(ds, path: Path, columns):
    with open(path, encoding="utf-8", newline="") as fh:
        missing = set(columns) - set(next(csv.reader(fh), []))
    if missing:
        raise StanceError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
    return ds.load_dataset("csv", data_files=str(path), split="train", streaming=True, keep_default_na=False,
                           features=ds.Features({c: ds.Value("string") for c in columns}))


def _fnc_read(ds, folder: Path, which: str, labels):
    """(bodies dict, stances stream, counts of distinct (headline, body id, stance)), checked."""
    bodies_file, stances_file = (folder / f for f in FNC_FILES[which])
    for f in (bodies_file, stances_file):
        if not f.is_file():
            raise StanceError(f"{f}: FNC-1 file not found; set {'FNC1_DIR' if which == 'train' else 'FNC1_TEST_DIR'} "
                              f"to the folder holding {' and '.join(FNC_FILES[which])}")
    bodies = {r["Body ID"]: r["articleBody"] for r in _csv_stream(ds, bodies_file, ["Body ID", "articleBody"])}
    stances = _csv_stream(ds, stances_file, ["Headline", "Body ID", "Stance"])
    counts, heads = Counter(), {}
    for i, r in enumerate(stances):
        if r["Stance"] not in labels:
            raise StanceError(f"{stances_file}:{i + 2}: field 'Stance': unknown label {r['Stance']!r}; "
                              f"valid labels: {', '.join(labels)}")
        if r["Body ID"] not in bodies:
            raise StanceError(f"{stances_file}:{i + 2}: field 'Body ID': {r['Body ID']} is not in {bodies_file.name}")
        head = heads.setdefault(r["Headline"], r["Headline"])  # one string per distinct headline
        counts[head, r["Body ID"], r["Stance"]] += 1
    return bodies, stances, counts


def _fnc1(cfg) -> Stream:
    ds, labels = _datasets(), cfg.data.labels
    folder = Path(os.environ.get("FNC1_DIR") or cfg.data.path)
    bodies, stances, counts = _fnc_read(ds, folder, "train", labels)
    # fnc1.story_split's stories, from the counts (a body is "body-<id>" there, as doc_id)
    head, body, dev = story_dev(Counter({(h, f"body-{b}", s): n for (h, b, s), n in counts.items()}), cfg.data.split.dev)
    sizes, fit_counts = Counter(), Counter()
    for (h, b, s), n in counts.items():  # dev: both ends in dev stories; train: neither; else dropped
        where = {(True, True): "dev", (False, False): "train"}.get((head[h] in dev, body[f"body-{b}"] in dev))
        sizes[where] += n
        fit_counts[s] += n * (where == "train")
    files, test_dir, test = [folder / f for f in FNC_FILES["train"]], os.environ.get("FNC1_TEST_DIR") or cfg.data.test_path, None
    if test_dir:  # the competition test set: every pair is test
        test = _fnc_read(ds, Path(test_dir), "test", labels)
        sizes["test"] = sum(test[2].values())
        files += [Path(test_dir) / f for f in FNC_FILES["test"]]

    def open_split(split, skip):  # asked only for splits with pairs; FNC-1 has no tags to skip
        if split == "test":
            return _select(test[1], "test", test[0], None, lambda h, b: True)
        return _select(stances, "train", bodies, head,
                       lambda h, b: (head[h] in dev) == (body[f"body-{b}"] in dev) == (split == "dev"))

    return Stream(cfg, list(labels), str(folder), file_hash(files, json.dumps(labels)), {k: v for k, v in sizes.items() if k},
                  +fit_counts, open_split)


def _select(rows, which: str, bodies: dict, head: dict | None, keep):
    """The common columns in ONE batched map (each chained map or filter nests a `datasets` stream's
    row keys: reading an FNC-1 epoch took 4.7 s through three, 0.3 s through one): id as fnc1.py
    numbers rows, claim = headline, sentence = body, group = the headline's story (test: the body)."""
    def select(b, idx):
        at = [i for i, (h, x) in enumerate(zip(b["Headline"], b["Body ID"])) if keep(h, x)]
        doc = [f"body-{b['Body ID'][i]}" for i in at]
        return {"id": [f"{which}-{idx[i]}" for i in at], "doc_id": doc, "claim": [b["Headline"][i] for i in at],
                "sentence": [bodies[b["Body ID"][i]] for i in at], "stance": [b["Stance"][i] for i in at],
                "tags": [[] for _ in at], "group": doc if head is None else [head[b["Headline"][i]] for i in at]}
    return rows.map(select, with_indices=True, batched=True, remove_columns=["Headline", "Body ID", "Stance"])


def write_copies(folder: Path, dest: Path, copies: int, seed: int = 0) -> Path:
    """FNC-1's train files into `dest` with the stances `copies` times over, each copy shuffled (one
    copy: as it is), the same bodies: a corpus for the memory check, not for scores."""
    import random
    import shutil
    bodies, stances = (folder / f for f in FNC_FILES["train"])
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(bodies, dest / bodies.name)
    with open(stances, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header, rows = next(reader), list(reader)
    rng = random.Random(seed)
    with open(dest / stances.name, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for _ in range(copies):
            w.writerows(rng.sample(rows, len(rows)) if copies > 1 else rows)
    return dest


def memory_check(fnc1_dir, copies: int = 8, workdir=None, config=None, log=print) -> dict:
    """Train configs/fnc1_stream_sgd.yaml on FNC-1 train and on `copies` shuffled copies of its stances,
    each in a subprocess so each peak RSS is its own (tracking to a store in `workdir`). Flat memory:
    close peaks. {x1_, x<copies>_: peak_mb, seconds, macro_f1 (dev), train_pairs; ratio}."""
    import yaml
    root = Path(__file__).resolve().parents[1]
    work = Path(workdir or tempfile.mkdtemp(prefix="stream-memory-")).resolve()
    base = yaml.safe_load(Path(config or root / "configs" / "fnc1_stream_sgd.yaml").read_text(encoding="utf-8"))
    # FNC1_DIR and FNC1_TEST_DIR would win over the copies' data.path
    env = {"OMP_NUM_THREADS": "1", **{k: v for k, v in os.environ.items() if k not in ("FNC1_DIR", "FNC1_TEST_DIR")},
           "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    out = {}
    for tag, n in (("x1", 1), (f"x{copies}", copies)):
        cfg = {**base, "name": f"memory-{tag}", "data": {**base["data"], "path": str(write_copies(Path(fnc1_dir), work / tag, n))},
               "evaluation": {**base.get("evaluation", {}), "external": {}},
               "tracking": {"experiment": "memory-check", "registered_model": None, "log_model": False}}
        (work / f"{tag}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        t = time.perf_counter()
        with open(work / f"{tag}.log", "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "training", "train", "--config", str(work / f"{tag}.yaml"),
                                     "--models-dir", str(work / "models")], cwd=root, env=env, stdout=err, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak (RUSAGE_CHILDREN keeps the largest)
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise StanceError(f"memory check: training on {tag} failed (exit {proc.returncode}); see {work / (tag + '.log')}")
        m = json.loads((work / "models" / f"memory-{tag}" / "reports" / "metrics.json").read_text(encoding="utf-8"))
        out.update({f"{tag}_peak_mb": usage.ru_maxrss / 1024, f"{tag}_seconds": time.perf_counter() - t,
                    f"{tag}_macro_f1": m["dev_macro_f1"], f"{tag}_train_pairs": m["train_pairs"]})
        log(f"memory check {tag}: peak RSS {out[tag + '_peak_mb']:.0f} MB, {out[tag + '_seconds']:.0f}s, "
            f"{m['train_pairs']} train pairs, dev macro-F1 {m['dev_macro_f1']:.3f}")
    return {**out, "ratio": out[f"x{copies}_peak_mb"] / out["x1_peak_mb"], "workdir": str(work)}
