"""Document mode: one article against one or more claims, a row per sentence in document order
(and the JSONL reading and writing of `predict --input`).

    rows = label_document(predictor, text, ["Putin and Trump spoke by phone last week"])
    write_rows(rows, predictor.labels, "html", "report.html", title="article.txt")

A sentence's stance is `none` when its relevance is below the threshold (the model's, chosen on
the dev documents, unless `min_relevance` is given) and `uncertain` when its top stance
probability is below `min_confidence`; otherwise the stance model's label.
"""

from __future__ import annotations

import csv
import html
import io
import json
import sys
from pathlib import Path

from training.errors import StanceError
from training.names import DOCUMENT_FORMATS as FORMATS
from training.text import split_lines

NONE, UNCERTAIN = "none", "uncertain"
# stance -> (background, text) colours of the HTML page
COLOURS = {"assert": ("#cdeccd", "#1d5c1d"), "deny": ("#f6cccc", "#7a1a1a"), "warn": ("#fde3b3", "#7a4b00"),
           UNCERTAIN: ("#e3e3f3", "#35356b"), NONE: ("transparent", "#555555")}


def read_text(path) -> str:
    p = Path(path)
    if not p.is_file():
        raise StanceError(f"{p}: document not found")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise StanceError(f"{p}: not UTF-8 text (byte {e.start}); save the article as UTF-8 plain text") from None
    if not text.strip():
        raise StanceError(f"{p}: the document is empty")
    return text


def read_claims(path) -> list[str]:
    """One claim per line; blank lines and lines starting with # are skipped."""
    p = Path(path)
    if not p.exists() or p.is_dir():  # exists(): a pipe such as <(printf ...) is fine too
        raise StanceError(f"{p}: claims file not found")
    claims = [line.strip() for line in p.read_text(encoding="utf-8").splitlines()]
    claims = [c for c in claims if c and not c.startswith("#")]
    if not claims:
        raise StanceError(f"{p}: no claims (write one claim per line)")
    return claims


def read_pairs(src: Path) -> list[dict]:
    """`predict --input`: JSONL rows with string `claim` and `sentence`; a bad row is a one-line error."""
    if not src.is_file():
        raise StanceError(f"{src}: input file not found")
    from training.datasets import read_jsonl
    records = []
    for at, r in read_jsonl(src):
        for k in ("claim", "sentence"):
            if not isinstance(r, dict) or not isinstance(r.get(k), str):
                raise StanceError(f"{at}: field {k!r}: missing or not a string")
        records.append(r)
    return records


def predictions_jsonl(records, predicted, proba, labels) -> str:
    """`predict --input`'s output: each input row plus `predicted` and `proba` per label."""
    return "".join(json.dumps({**r, "predicted": lab, "proba": {lab: round(float(x), 6) for lab, x in zip(labels, pr)}},
                              ensure_ascii=False) + "\n" for r, lab, pr in zip(records, predicted, proba))


def label_document(p, text: str, claims: list[str], min_relevance: float | None = None,
                   min_confidence: float = 0.0) -> list[dict]:
    """Rows `claim, paragraph, index, sentence, stance, relevance, p_<label>...` for every claim
    and sentence. Relevance is None when the model has no relevance stage (then no row is `none`)."""
    for name, v in (("min_relevance", min_relevance), ("min_confidence", min_confidence)):
        if v is not None and not 0.0 <= v <= 1.0:
            raise StanceError(f"{name}: {v} is outside [0, 1]")
    paragraphs = split_lines(text)
    sentences = [s for para in paragraphs for s in para]
    where = [k for k, para in enumerate(paragraphs) for _ in para]
    if not sentences:
        raise StanceError("the document has no sentences")
    has_relevance = p.has_relevance
    if min_relevance is not None and not has_relevance:
        raise StanceError("--min-relevance: this model has no relevance stage; retrain it with `make train`")
    threshold = min_relevance if min_relevance is not None else (p.relevance_threshold if has_relevance else None)
    all_claims = [c for c in claims for _ in sentences]
    all_sentences = sentences * len(claims)
    labels, proba = p.predict_with_proba(all_claims, all_sentences)
    relevance = (p.relevance(all_claims, all_sentences, document=True, paragraphs=where * len(claims))
                 if has_relevance else [None] * len(all_claims))
    rows = []
    for i, (claim, sentence, label, pr, rel) in enumerate(zip(all_claims, all_sentences, labels, proba, relevance)):
        if rel is not None and rel < threshold:
            label = NONE
        elif pr.max() < min_confidence:
            label = UNCERTAIN
        k = i % len(sentences)
        rows.append({"claim": claim, "paragraph": where[k], "index": k, "sentence": sentence, "stance": label,
                     "relevance": None if rel is None else round(float(rel), 4),
                     **{f"p_{lab}": round(float(x), 4) for lab, x in zip(p.labels, pr)}})
    return rows


def summary(rows: list[dict], labels: list[str]) -> str:
    """"3 assert, 2 deny, 1 warn, 14 none" (uncertain only when there is one)."""
    counts = {k: sum(r["stance"] == k for r in rows) for k in [*labels, UNCERTAIN, NONE]}
    return ", ".join(f"{n} {k}" for k, n in counts.items() if k != UNCERTAIN or n)


def write_rows(rows: list[dict], labels: list[str], fmt: str, output=None, title: str = "document") -> None:
    if fmt not in FORMATS:
        raise StanceError(f"--format: unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    text = {"table": _table, "jsonl": _jsonl, "csv": _csv, "html": _html}[fmt](rows, labels, title)
    write_output(text, output, f"the {fmt} output")


def write_output(text: str, output=None, what: str = "the output") -> None:
    """To stdout, or to `output` through a temporary sibling: never a half-written file."""
    if output is None:
        sys.stdout.write(text)
        return
    out = Path(output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as e:
        raise StanceError(f"{out}: cannot write {what} ({e.strerror})") from None


def _columns(labels):
    return ["claim", "index", "sentence", "stance", "relevance", *[f"p_{lab}" for lab in labels]]


def _jsonl(rows, labels, title):
    cols = _columns(labels)
    return "".join(json.dumps({k: r[k] for k in cols}, ensure_ascii=False) + "\n" for r in rows)


def _csv(rows, labels, title):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_columns(labels), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _table(rows, labels, title):
    out = []
    for claim in dict.fromkeys(r["claim"] for r in rows):
        mine = [r for r in rows if r["claim"] == claim]
        out.append(f"claim: {claim}\n{summary(mine, labels)}\n")
        out.append(f"{'#':>3} {'stance':10} {'relev':>5} " + " ".join(f"{lab[:6]:>6}" for lab in labels) + "  sentence\n")
        for r in mine:
            rel = "-" if r["relevance"] is None else f"{r['relevance']:.2f}"
            out.append(f"{r['index']:>3} {r['stance']:10} {rel:>5} " + " ".join(f"{r[f'p_{lab}']:6.2f}" for lab in labels)
                       + f"  {r['sentence'][:90]}\n")
        out.append("\n")
    return "".join(out)


def _html(rows, labels, title):
    """One self-contained page (inline CSS, no scripts, no external resources): per claim, the
    summary line and the article with each sentence coloured by its stance."""
    e = html.escape
    css = "".join(f".s-{k}{{background:{bg};color:{fg}}}" for k, (bg, fg) in COLOURS.items())
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stance: {e(title)}</title><style>"
             "body{font:16px/1.55 Georgia,serif;max-width:50em;margin:2em auto;padding:0 1em;color:#222}"
             "h1{font:600 1.1em sans-serif}h2{font:600 1em sans-serif;margin-top:2em}"
             "span.s{border-radius:3px;padding:1px 2px}.summary{font:14px sans-serif;color:#444}"
             ".legend span{font:13px sans-serif;margin-right:.6em;padding:2px 6px;border-radius:3px}" + css +
             f"</style></head><body><h1>{e(title)}</h1>"]
    legend = "".join(f"<span class=\"s-{k}\">{k}</span>" for k in [*labels, UNCERTAIN, NONE])
    for n, claim in enumerate(dict.fromkeys(r["claim"] for r in rows), 1):
        mine = [r for r in rows if r["claim"] == claim]
        parts.append(f"<section class=\"claim\" id=\"claim-{n}\"><h2>Claim: {e(claim)}</h2>"
                     f"<p class=\"summary\">{e(summary(mine, labels))}</p><p class=\"legend\">{legend}</p>")
        for k in dict.fromkeys(r["paragraph"] for r in mine):
            spans = []
            for r in (r for r in mine if r["paragraph"] == k):
                tip = f"{r['stance']}" + ("" if r["relevance"] is None else f" · relevance {r['relevance']:.2f}") + \
                      "".join(f" · {lab} {r[f'p_{lab}']:.2f}" for lab in labels)
                spans.append(f"<span class=\"s s-{r['stance']}\" data-index=\"{r['index']}\" "
                             f"data-stance=\"{r['stance']}\" title=\"{e(tip)}\">{e(r['sentence'])}</span>")
            parts.append("<p>" + " ".join(spans) + "</p>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)
