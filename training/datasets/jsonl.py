"""The bundled corpus format: `data/pairs/*.jsonl` + `seeds/<doc_id>.txt` (the data contract in
../shared/spec/stance-labels.md), its statistics, quotas and the blind second annotation."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from training.config import Config
from training.datasets import FIELDS, OPTIONAL, SPLITS, Corpus, content_hash, read_jsonl, split_of, to_splits
from training.errors import StanceError
from training.text import is_whole, split_sentences


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


def load(cfg: Config) -> Corpus:
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
    return Corpus(splits=to_splits(by_split, cfg.data.labels), labels=list(cfg.data.labels),
                  hash=content_hash(files, extra=json.dumps(cfg.data.labels)), source=str(root),
                  documents=load_documents_meta(data_dir.parent if data_dir.name == "pairs" else data_dir))


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
    # a sentence may take a stance on two claims of its document; each (claim, sentence) once
    distinct = len({(r["claim"], r["sentence"]) for r in stats["rows"]})
    checks.append(("unique pairs", distinct == n, f"{distinct} distinct (claim, sentence) of {n}; "
                                                  f"{len(sentences)} distinct sentences"))
    checks.append(("near-duplicate sentences", not dups,
                   f"{len(dups)} pairs with >= 70% shared words" + (f", e.g. {sentences[dups[0][0]][:50]!r}" if dups else "")))
    bad_len = []
    split = {d: split_sentences((seeds_dir / f"{d}.txt").read_text(encoding="utf-8"))
             for d in sorted({r["doc_id"] for r in stats["rows"]})}
    for d, pieces in split.items():
        if not 10 <= len(pieces) <= 30:
            bad_len.append(f"{d} ({len(pieces)})")
    checks.append(("documents of 10-30 sentences", not bad_len, "all" if not bad_len else ", ".join(bad_len[:5])))
    # document mode and relevance read documents through the same splitter as this check
    cut = [r["id"] for r in stats["rows"] if not is_whole(r["sentence"], split[r["doc_id"]])]
    checks.append(("annotated sentences are whole split sentences", not cut,
                   f"{n - len(cut)}/{n}" + (f"; cut: {', '.join(cut[:3])}" if cut else "")))
    return checks


# --- the tables `make data` prints -----------------------------------------------------------

def stats_tables(s: dict, labels: list[str], by_label_and_domain: bool = True) -> str:
    """Pairs by split and label with the natural and hard slices; by label; by domain."""
    out = [f"\n{'split':8} {'docs':>5} {'pairs':>6} " + " ".join(f"{lab:>8}" for lab in labels)
           + f" {'natural':>8} {'hard':>6}"]
    for split in ("train", "dev", "test", "all"):
        if split == "all":
            docs, n, hard = s["documents"], s["pairs"], s["hard"]
            counts = [s["label"][lab] for lab in labels]
        else:
            docs, n = s["split_docs"].get(split, 0), s["split"].get(split, 0)
            counts = [s["label_by_split"].get((split, lab), 0) for lab in labels]
            hard = s["hard_by_split"].get((split, True), 0)
        out.append(f"{split:8} {docs:5} {n:6} " + " ".join(f"{c:8}" for c in counts) + f" {n - hard:8} {hard:6}")
    if by_label_and_domain:
        out.append(f"\n{'label':10} {'pairs':>6} {'share':>6} {'natural':>8} {'hard':>5}   (hard: the cue-word rule "
                   f"gets it wrong; {s['hard'] / max(s['pairs'], 1):.1%} of all pairs)")
        for lab in labels:
            hard = s["hard_by_label"].get((lab, True), 0)
            out.append(f"{lab:10} {s['label'][lab]:6} {s['label'][lab] / max(s['pairs'], 1):6.1%} "
                       f"{s['label'][lab] - hard:8} {hard:5}")
        out.append(f"\n{'domain':24} {'docs':>5} {'pairs':>6}")
        for dom, n in sorted(s["domain"].items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"{dom:24} {s['domain_docs'][dom]:5} {n:6}")
    return "\n".join(out)


def agreement_table(a: dict, path, labels: list[str]) -> str:
    """The second-pass agreement line and the first/second confusion table."""
    out = [f"\nblind second annotation ({path}): {a['agree']}/{a['pairs']} agree = {a['observed']:.2%}, "
           f"Cohen's kappa {a['kappa']:.3f}, {a['unsure']} marked unsure; "
           f"{a['changed']} labels changed by a blind third vote"
           + (f"; {a['not_covered']} pairs not yet labelled twice" if a["not_covered"] else ""),
           f"{'first/second':14} " + " ".join(f"{lab:>8}" for lab in labels)]
    out += [f"{x:14} " + " ".join(f"{a['confusion'][(x, y)]:8}" for y in labels) for x in labels]
    return "\n".join(out)
