"""Load annotated pairs, validate them against the data contract, split by document.

Two sources, one output shape (a `Corpus` of train/dev/test `datasets.Dataset`s with the
columns id, doc_id, claim_id, claim, sentence, stance, tags):
- jsonl: `data/pairs/*.jsonl` + `seeds/<doc_id>.txt` (the contract in the spec);
- fnc1: the FNC-1 CSVs (claim = headline, sentence = article body).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from training.config import Config
from training.errors import StanceError
from training.text import split_sentences

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


def read_pairs(cfg: Config) -> tuple[list[dict], list[Path]]:
    """Read and validate every JSONL row. Raises StanceError at the first bad row, naming
    file:line and field."""
    root = Path(cfg.data.path)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(root.glob("*.jsonl"))
    else:
        raise StanceError(f"{cfg.where('data.path')}: {root} does not exist; point it at a folder of *.jsonl files")
    if not files:
        raise StanceError(f"{root}: no *.jsonl files found; add annotations (see data/ANNOTATION.md)")
    seeds = Path(cfg.data.seeds_dir)
    labels = cfg.data.labels
    docs: dict[str, str | None] = {}
    rows, seen_id, claim_text, text_claim = [], {}, {}, {}
    for path in files:
        for at, r in read_jsonl(path):
            if not isinstance(r, dict):
                raise StanceError(f"{at}: expected a JSON object with fields {', '.join(FIELDS)}")
            for k in r:
                if k not in FIELDS + OPTIONAL:
                    raise StanceError(f"{at}: field {k!r}: unknown field; valid fields: {', '.join(FIELDS + OPTIONAL)}")
            for k in FIELDS:
                if k not in r:
                    raise StanceError(f"{at}: field {k!r}: missing")
                if not isinstance(r[k], str):
                    raise StanceError(f"{at}: field {k!r}: expected a string, got {json.dumps(r[k])}")
                if not r[k].strip():
                    raise StanceError(f"{at}: field {k!r}: empty")
            tags = r.get("tags", [])
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise StanceError(f"{at}: field 'tags': expected a list of strings, got {json.dumps(tags)}")
            if r["stance"] not in labels:
                raise StanceError(f"{at}: field 'stance': unknown label {r['stance']!r}; valid labels: {', '.join(labels)}")
            if r["id"] in seen_id:
                raise StanceError(f"{at}: field 'id': duplicate id {r['id']!r} (first at {seen_id[r['id']]})")
            seen_id[r["id"]] = at
            if r["doc_id"] not in docs:
                doc = seeds / f"{r['doc_id']}.txt"
                docs[r["doc_id"]] = doc.read_text(encoding="utf-8") if doc.is_file() else None
            if docs[r["doc_id"]] is None:
                raise StanceError(f"{at}: field 'doc_id': no document {seeds / (r['doc_id'] + '.txt')}")
            if r["sentence"] not in docs[r["doc_id"]]:
                raise StanceError(f"{at}: field 'sentence': not found verbatim in {seeds / (r['doc_id'] + '.txt')}")
            if claim_text.setdefault(r["claim_id"], (r["claim"], at))[0] != r["claim"]:
                raise StanceError(f"{at}: field 'claim': claim_id {r['claim_id']!r} has another claim text at {claim_text[r['claim_id']][1]}")
            if text_claim.setdefault(r["claim"], (r["claim_id"], at))[0] != r["claim_id"]:
                raise StanceError(f"{at}: field 'claim_id': this claim text already has claim_id {text_claim[r['claim']][0]!r}"
                                  f" at {text_claim[r['claim']][1]}")
            rows.append({**{k: r[k] for k in FIELDS}, "tags": list(tags), "_at": at})
    used = [seeds / f"{d}.txt" for d in sorted(docs)]
    return rows, files + used


def content_hash(paths, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode("utf-8"))
    for p in sorted(paths, key=str):
        h.update(str(Path(p).name).encode("utf-8") + b"\0")
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def _to_splits(rows_by_split: dict, labels: list[str]) -> dict:
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


def load_documents_meta(data_dir: Path) -> dict:
    path = data_dir / "documents.jsonl"
    meta = {}
    if path.is_file():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    d = json.loads(line)
                    meta[d["doc_id"]] = d
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise StanceError(f"{path}:{n}: expected {{\"doc_id\", \"domain\", \"title\"}}") from None
    return meta


def load_corpus(cfg: Config) -> Corpus:
    if cfg.data.format == "fnc1":
        return load_fnc1(cfg)
    rows, files = read_pairs(cfg)
    by_split = defaultdict(list)
    claim_split = {}
    for r in rows:
        s = split_of(r["doc_id"], cfg.data.split)
        first = claim_split.setdefault(r["claim_id"], (s, r["_at"]))
        if first[0] != s:
            raise StanceError(f"{r['_at']}: field 'claim_id': claim {r['claim_id']!r} has sentences in the {first[0]} "
                              f"split (at {first[1]}) and the {s} split; a claim must stay within one document")
        by_split[s].append(r)
    if not by_split["train"]:
        raise StanceError(f"{cfg.data.path}: no pairs fall in the train split; add documents or raise data.split.train")
    root = Path(cfg.data.path)
    data_dir = root if root.is_dir() else root.parent
    return Corpus(splits=_to_splits(by_split, cfg.data.labels), labels=list(cfg.data.labels),
                  hash=content_hash(files, extra=json.dumps(cfg.data.labels)), source=str(root),
                  documents=load_documents_meta(data_dir.parent if data_dir.name == "pairs" else data_dir))


# --- FNC-1 -------------------------------------------------------------------------------

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


def story_split(rows: list[dict], dev_share: float, unrelated: str = "unrelated") -> dict:
    """Hold out whole stories: headlines and bodies joined by related pairs form connected
    components; components join dev in a stable hash order until the pairs with BOTH ends in
    dev reach `dev_share` of all pairs. Pairs that would link a dev story with a train story
    (all of them unrelated) are dropped, so no headline and no body is on both sides, as in
    the competition test set, whose stories are new."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rows:
        a, b = find("h:" + r["claim"]), find("b:" + r["doc_id"])
        if r["stance"] != unrelated and a != b:
            parent[max(a, b)] = min(a, b)
    ends = [(find("h:" + r["claim"]), find("b:" + r["doc_id"])) for r in rows]
    touching = defaultdict(list)  # component -> pairs with an end in it
    for i, (h, b) in enumerate(ends):
        touching[h].append(i)
        if b != h:
            touching[b].append(i)
    comps = sorted(touching, key=lambda c: hashlib.sha256(c.encode("utf-8")).hexdigest())
    dev, inside, target = set(), 0, dev_share * len(rows)
    for c in comps:
        if inside >= target:
            break
        dev.add(c)
        inside += sum(1 for i in touching[c] if ends[i][0] in dev and ends[i][1] in dev)
    out = {"train": [], "dev": [], "test": []}
    for r, (h, b) in zip(rows, ends):
        r = {**r, "group": h}  # the headline's story, for grouped cross-validation
        if h in dev and b in dev:
            out["dev"].append(r)
        elif h not in dev and b not in dev:
            out["train"].append(r)
    return out


def load_fnc1(cfg: Config) -> Corpus:
    folder = Path(os.environ.get("FNC1_DIR") or cfg.data.path)
    rows = _read_fnc(folder, "train", cfg.data.labels)
    splits = story_split(rows, cfg.data.split.dev)
    files = [folder / f for f in FNC_FILES["train"]]
    test_dir = os.environ.get("FNC1_TEST_DIR") or cfg.data.test_path
    if test_dir:
        splits["test"] = _read_fnc(Path(test_dir), "test", cfg.data.labels)
        files += [Path(test_dir) / f for f in FNC_FILES["test"]]
    return Corpus(splits=_to_splits(splits, cfg.data.labels), labels=list(cfg.data.labels),
                  hash=content_hash(files, extra=json.dumps(cfg.data.labels)), source=str(folder))


# --- corpus statistics and quotas (make data) ----------------------------------------------

def near_duplicates(sentences: list[str], threshold: float = 0.7, min_tokens: int = 4) -> list[tuple[int, int, float]]:
    """Pairs of sentences whose distinct-word sets have Jaccard >= threshold."""
    from sklearn.feature_extraction.text import CountVectorizer
    if len(sentences) < 2:
        return []
    vec = CountVectorizer(binary=True, token_pattern=r"[a-z0-9]+", lowercase=True)
    x = vec.fit_transform(sentences).astype("int32")
    sizes = x.sum(axis=1).A1
    inter = (x @ x.T).tocoo()
    out = []
    for i, j, v in zip(inter.row, inter.col, inter.data):
        if i < j and sizes[i] >= min_tokens and sizes[j] >= min_tokens:
            jac = v / (sizes[i] + sizes[j] - v)
            if jac >= threshold:
                out.append((int(i), int(j), float(jac)))
    return sorted(out)


def corpus_stats(corpus: Corpus) -> dict:
    rows = [dict(r, split=s) for s in SPLITS for r in corpus.rows(s)]
    docs = {r["doc_id"] for r in rows}
    by = lambda key: Counter(key(r) for r in rows)  # noqa: E731
    claim_labels = defaultdict(set)
    for r in rows:
        claim_labels[r["claim_id"]].add(r["stance"])
    return {
        "pairs": len(rows), "documents": len(docs), "claims": len(claim_labels), "labels": list(corpus.labels),
        "label": by(lambda r: r["stance"]), "split": by(lambda r: r["split"]),
        "split_docs": Counter(s for s in SPLITS for _ in {r["doc_id"] for r in rows if r["split"] == s}),
        "label_by_split": by(lambda r: (r["split"], r["stance"])),
        "hard": sum("hard" in r["tags"] for r in rows),
        "hard_by_split": by(lambda r: (r["split"], "hard" in r["tags"])),
        "hard_by_label": by(lambda r: (r["stance"], "hard" in r["tags"])),
        "domain": Counter(corpus.documents.get(r["doc_id"], {}).get("domain", "(unknown)") for r in rows),
        "domain_docs": Counter(corpus.documents.get(d, {}).get("domain", "(unknown)") for d in docs),
        "multi_label_claims": sum(len(v) > 1 for v in claim_labels.values()),
        "rows": rows,
    }


def second_pass_agreement(rows: list[dict], path: Path, labels: list[str]) -> dict:
    """Agreement between the first annotation and a blind second one, from `path`: JSONL of
    {"id", "first", "second", "sure", "third"?}, where "third" is a blind tie-breaker given
    only where the first two differ. Checks that every corpus label is the majority of the
    passes (the first label where all three differ), so the record cannot drift from the corpus.
    Pairs added since the second pass are counted in "not_covered", not refused."""
    gold = {r["id"]: r["stance"] for r in rows}
    passes, unsure = {}, 0
    for at, r in read_jsonl(path):
        if not isinstance(r, dict) or r.get("id") not in gold:
            raise StanceError(f"{at}: field 'id': {r.get('id') if isinstance(r, dict) else r!r} is not a pair of the corpus")
        if r["id"] in passes:
            raise StanceError(f"{at}: field 'id': duplicate id {r['id']!r}")
        for k in ("first", "second") + (("third",) if "third" in r else ()):
            if r.get(k) not in labels:
                raise StanceError(f"{at}: field {k!r}: unknown label {r.get(k)!r}; valid labels: {', '.join(labels)}")
        votes = [r["first"], r["second"]] + ([r["third"]] if "third" in r else [])
        final = max(votes, key=votes.count) if r["first"] != r["second"] else r["first"]  # ties keep the first
        if final != gold[r["id"]]:
            raise StanceError(f"{at}: field 'stance': the corpus says {gold[r['id']]!r} but the passes {votes} "
                              f"give {final!r}; fix the pair or this record")
        passes[r["id"]] = (r["first"], r["second"])
        unsure += r.get("sure") is False
    if not passes:
        raise StanceError(f"{path}: no records; expected JSONL of {{\"id\", \"first\", \"second\", \"sure\"}}")
    a, b = zip(*(passes[i] for i in sorted(passes)))
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    pe = sum(a.count(lab) * b.count(lab) for lab in labels) / n / n
    return {"pairs": n, "not_covered": len(gold) - n, "agree": round(po * n), "observed": po,
            "kappa": (po - pe) / (1 - pe) if pe < 1 else 1.0,
            "unsure": unsure, "changed": sum(x != gold[i] for i, (x, _) in passes.items()), "confusion": Counter(zip(a, b))}


# The corpus quotas for the bundled corpus (checked by `make data` and the tests): a news-like
# distribution where `hard` pairs are a measured slice (15-35%), not half of the corpus.
# Counts are the 225 documents / 4,487 pairs of rounds 1-2 plus round 3's 100 documents and
# 2,500 pairs.
QUOTAS = {"documents": 325, "pairs": 6987, "claims": 900, "label_share": 0.25, "hard_share": (0.15, 0.35),
          "test_doc_share": 0.20}


def check_quotas(stats: dict, seeds_dir: Path) -> list[tuple[str, bool, str]]:
    n = stats["pairs"]
    checks = [
        ("documents", stats["documents"] >= QUOTAS["documents"], f"{stats['documents']} >= {QUOTAS['documents']}"),
        ("pairs", n >= QUOTAS["pairs"], f"{n} >= {QUOTAS['pairs']}"),
        ("claims", stats["claims"] >= QUOTAS["claims"], f"{stats['claims']} >= {QUOTAS['claims']}"),
    ]
    for label in stats["labels"]:  # every configured label, so a label with no pairs fails too
        c = stats["label"].get(label, 0)
        checks.append((f"share of {label}", n and c / n >= QUOTAS["label_share"], f"{c / max(n, 1):.1%} >= 25%"))
    lo, hi = QUOTAS["hard_share"]
    checks.append(("hard share", n and lo <= stats["hard"] / n <= hi,
                   f"{stats['hard'] / max(n, 1):.1%} within {lo:.0%}-{hi:.0%}"))
    checks.append(("claims with 2+ labels", stats["multi_label_claims"] > stats["claims"] / 2,
                   f"{stats['multi_label_claims']}/{stats['claims']} > half"))
    test_docs = stats["split_docs"].get("test", 0)
    checks.append(("test split documents", test_docs >= QUOTAS["test_doc_share"] * stats["documents"],
                   f"{test_docs}/{stats['documents']} = {test_docs / max(stats['documents'], 1):.1%} >= 20%"))
    sentences = sorted({r["sentence"] for r in stats["rows"]})
    dups = near_duplicates(sentences)
    checks.append(("unique sentences", len(sentences) == n, f"{len(sentences)} distinct of {n}"))
    checks.append(("near-duplicate sentences", not dups,
                   f"{len(dups)} pairs with >= 70% shared words" + (f", e.g. {sentences[dups[0][0]][:50]!r}" if dups else "")))
    bad_len = []
    for d in sorted({r["doc_id"] for r in stats["rows"]}):
        k = len(split_sentences((seeds_dir / f"{d}.txt").read_text(encoding="utf-8")))
        if not 10 <= k <= 30:
            bad_len.append(f"{d} ({k})")
    checks.append(("documents of 10-30 sentences", not bad_len, "all" if not bad_len else ", ".join(bad_len[:5])))
    return checks
