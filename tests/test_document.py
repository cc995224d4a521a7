"""Document mode: rows per sentence, `none` and `uncertain`, the four output formats (the HTML
page's structure here, its rendering in a real browser in a slow test), the CLI, and the seed
article against the spec's claims."""

import csv
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import ROOT
from training.cli import main
from training.document import label_document, read_claims, summary, write_rows
from training.errors import StanceError
from training.predict import load_predictor

SEED = ROOT / "seeds" / "000_78bd94f09c977c23.txt"
CALL = "Putin and Trump spoke by phone last week"
CEDE = "Ukraine should cede territory to Russia to end the war"
ARTICLE = ("Dam fears grow on the Vell\n"
           "Engineers confirmed on Monday that the dam on the Vell river has cracked. Residents were moved.\n"
           "The bakery on Mill Street sold out of bread.\n")


@pytest.fixture(scope="module")
def p(trained):
    return load_predictor(trained["model"])


def test_rows_in_document_order_with_every_column(p):
    rows = label_document(p, ARTICLE, ["The dam on the Vell river has cracked."])
    assert [r["index"] for r in rows] == [0, 1, 2, 3] and [r["paragraph"] for r in rows] == [0, 1, 1, 2]
    assert rows[1]["sentence"].startswith("Engineers confirmed")
    for r in rows:
        assert r["stance"] in p.labels + ["none"]
        assert abs(sum(r[f"p_{lab}"] for lab in p.labels) - 1) < 1e-3 and 0 <= r["relevance"] <= 1
        assert (r["stance"] == "none") == (r["relevance"] < p.relevance_threshold)


def test_thresholds_make_none_and_uncertain(p):
    claim = ["The dam on the Vell river has cracked."]
    assert {r["stance"] for r in label_document(p, ARTICLE, claim, min_relevance=1.0)} == {"none"}
    rows = label_document(p, ARTICLE, claim, min_relevance=0.0, min_confidence=1.0)
    assert {r["stance"] for r in rows} == {"uncertain"}
    assert all(r["stance"] in p.labels for r in label_document(p, ARTICLE, claim, min_relevance=0.0))
    with pytest.raises(StanceError, match="min_confidence: 1.5 is outside"):
        label_document(p, ARTICLE, claim, min_confidence=1.5)


def test_several_claims_and_summary(p):
    rows = label_document(p, ARTICLE, ["The dam has cracked.", "The bakery ran out of bread."])
    assert len(rows) == 8 and [r["claim"] for r in rows[::4]] == ["The dam has cracked.", "The bakery ran out of bread."]
    s = summary(rows[:4], p.labels)
    assert s.endswith(" none") and sum(int(part.split()[0]) for part in s.split(", ")) == 4
    assert "uncertain" not in s  # shown only when there is one


def test_jsonl_and_csv_carry_the_same_rows(p, tmp_path):
    rows = label_document(p, ARTICLE, ["The dam has cracked."])
    write_rows(rows, p.labels, "jsonl", tmp_path / "out" / "r.jsonl")
    got = [json.loads(line) for line in (tmp_path / "out" / "r.jsonl").read_text().splitlines()]
    assert list(got[0]) == ["claim", "index", "sentence", "stance", "relevance", "p_assert", "p_deny", "p_warn"]
    write_rows(rows, p.labels, "csv", tmp_path / "r.csv")
    table = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [t["sentence"] for t in table] == [g["sentence"] for g in got]
    assert [t["stance"] for t in table] == [g["stance"] for g in got]
    with pytest.raises(StanceError, match="unknown format 'xml'; valid formats: table, jsonl, csv, html"):
        write_rows(rows, p.labels, "xml")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.spans, self.summaries, self.external, self._in = 0, [], [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.sections += tag == "section"
        if tag == "span" and "data-stance" in a:
            self.spans.append(a)
        if tag == "p" and a.get("class") == "summary":
            self._in = "summary"
        if tag in ("script", "link", "img", "iframe") or any(v and "://" in v for v in a.values()):
            self.external.append(tag)

    def handle_data(self, data):
        if self._in == "summary":
            self.summaries.append(data)
            self._in = None


def test_html_page_structure(p, tmp_path):
    rows = label_document(p, ARTICLE, ["The dam has cracked.", "The bakery ran out of bread."])
    out = tmp_path / "r.html"
    write_rows(rows, p.labels, "html", out, title="vell.txt")
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.sections == 2 and len(page.spans) == 8 and not page.external  # self-contained
    assert [s["data-stance"] for s in page.spans] == [r["stance"] for r in rows]
    assert [int(s["data-index"]) for s in page.spans] == [0, 1, 2, 3] * 2
    assert all(s["class"] == f"s s-{s['data-stance']}" for s in page.spans)
    assert page.summaries == [summary(rows[:4], p.labels), summary(rows[4:], p.labels)]
    assert "&lt;" in write_html_of(p, "A <b>bold</b> claim.")  # text is escaped


def write_html_of(p, text):
    import training.document as d
    return d._html(label_document(p, text, ["x"]), p.labels, "t")


def test_cli_document_mode(trained, tmp_path, capsys):
    claims = tmp_path / "claims.txt"
    claims.write_text(f"# claims\n{CALL}\n\n{CEDE}\n", encoding="utf-8")
    assert read_claims(claims) == [CALL, CEDE]
    out = tmp_path / "seed.jsonl"
    assert main(["predict", "--model", str(trained["model"]), "--document", str(SEED), "--claims", str(claims),
                 "--format", "jsonl", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 * 19 and {r["claim"] for r in rows} == {CALL, CEDE}
    assert main(["predict", "--model", str(trained["model"]), "--document", str(SEED), "--claim", CALL]) == 0
    assert capsys.readouterr().out.startswith(f"claim: {CALL}\n")


@pytest.mark.parametrize("args, message", [
    (["--document", "SEED", "--claim", "c", "--claims", "x"], "exactly one of --claim TEXT or --claims FILE"),
    (["--document", "SEED"], "exactly one of --claim TEXT or --claims FILE"),
    (["--claim", "c", "--sentence", "s", "--format", "html"], "--format only applies with --document"),
    (["--document", "nope.txt", "--claim", "c"], "nope.txt: document not found"),
    (["--document", "SEED", "--claims", "nope.txt"], "nope.txt: claims file not found"),
    (["--document", "SEED", "--claim", "c", "--min-relevance", "2"], "min_relevance: 2.0 is outside"),
])
def test_cli_document_errors_are_one_line(trained, capsys, args, message):
    args = [str(SEED) if a == "SEED" else a for a in args]
    assert main(["predict", "--model", str(trained["model"]), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# --- the seed article against the spec's claims (the shipped model, as `make train` builds it) --

SHIPPED = ROOT / "models" / "stance"
SEED_EXPECTED = [
    (CALL, "Kremlin spokesman Dmitry Peskov branded the report", "deny"),
    (CALL, "According to the Washington Post, the reported telephone call", "assert"),
    (CALL, "At the same time, Ukraine President Volodymyr Zelensky sharply cautioned", "none"),
    (CEDE, "At the same time, Ukraine President Volodymyr Zelensky sharply cautioned", "warn"),
    (CALL, "The Kremlin on Monday poured cold water", "deny"),  # an idiom, no denial word (training/augment.py)
    (CALL, "During the campaign, Trump said he would resolve", "none"),
]


@pytest.mark.skipif(not (SHIPPED / "metadata.json").is_file(), reason="no models/stance: run `make train` first")
@pytest.mark.parametrize("claim, start, stance", SEED_EXPECTED)
def test_seed_article_with_the_shipped_model(claim, start, stance):
    p = load_predictor(SHIPPED)
    rows = label_document(p, SEED.read_text(encoding="utf-8"), [claim])
    (row,) = [r for r in rows if r["sentence"].startswith(start)]
    assert row["stance"] == stance, row


@pytest.mark.slow
def test_html_report_renders_in_chromium(trained, tmp_path):
    """The page opens in a real headless browser and renders (a screenshot of some size)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "this test needs Chromium: apt-get install -y chromium (Debian), then make test-slow"
    page, shot = tmp_path / "seed.html", tmp_path / "seed.png"
    assert main(["predict", "--model", str(trained["model"]), "--document", str(SEED), "--claim", CALL,
                 "--format", "html", "--output", str(page)]) == 0
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-500:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1000, 1400) and len(png) > 20_000  # a page with coloured text, not blank
