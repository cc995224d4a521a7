import json
from pathlib import Path

import pytest

from conftest import ROOT, make_corpus, write_config
from training.config import from_dict, load_config
from training.datasets import content_hash, doc_bucket, load_corpus, split_of
from training.datasets.fnc1 import story_split
from training.datasets.jsonl import near_duplicates, second_pass_agreement
from training.errors import StanceError

GOLDEN_BUCKET = 0.13081975773008006  # doc_bucket("000_78bd94f09c977c23"): sha256, first 15 hex digits


def _cfg(corpus: Path, **kw):
    return from_dict({"data": {"path": str(corpus / "data" / "pairs"), "seeds_dir": str(corpus / "seeds"), **kw}})


def test_loads_with_datasets_and_configured_label_order(corpus_dir):
    c = load_corpus(_cfg(corpus_dir))
    train = c.splits["train"]
    assert train.features["label"].names == ["assert", "deny", "warn"]  # not alphabetical by accident
    assert {"id", "doc_id", "claim_id", "claim", "sentence", "stance", "tags"} <= set(train.column_names)
    assert len(c.hash) == 64


def test_split_is_by_document_and_stable_when_documents_are_added(tmp_path):
    small = load_corpus(_cfg(make_corpus(tmp_path / "a", [d for d in _all_docs() if d.startswith("1")])))
    big = load_corpus(_cfg(make_corpus(tmp_path / "b", _all_docs())))
    where_small = {r["doc_id"]: s for s in ("train", "dev", "test") for r in small.rows(s)}
    where_big = {r["doc_id"]: s for s in ("train", "dev", "test") for r in big.rows(s)}
    assert all(where_big[d] == s for d, s in where_small.items())
    for c in (small, big):
        docs = [{r["doc_id"] for r in c.rows(s)} for s in ("train", "dev", "test")]
        claims = [{r["claim_id"] for r in c.rows(s)} for s in ("train", "dev", "test")]
        assert not (docs[0] & docs[1] or docs[0] & docs[2] or docs[1] & docs[2])
        assert not (claims[0] & claims[1] or claims[0] & claims[2] or claims[1] & claims[2])


def _all_docs():
    return sorted(p.stem for p in (ROOT / "data" / "pairs").glob("*.jsonl"))


def test_doc_bucket_is_fixed():
    # golden values: a change to the hash would silently move documents between splits
    assert doc_bucket("000_78bd94f09c977c23") == pytest.approx(GOLDEN_BUCKET, abs=1e-12)
    assert 0.0 <= doc_bucket("x") < 1.0
    shares = from_dict({}).data.split  # test < 0.25 <= dev < 0.40 <= train
    for doc in ("000_78bd94f09c977c23", "101_valdoria_voter_register", "x", "y"):
        b = doc_bucket(doc)
        assert split_of(doc, shares) == ("test" if b < 0.25 else "dev" if b < 0.40 else "train")


def test_hash_changes_with_content(corpus_dir):
    h1 = load_corpus(_cfg(corpus_dir)).hash
    f = next((corpus_dir / "data" / "pairs").glob("*.jsonl"))
    f.write_text(f.read_text().replace('"tags": []', '"tags": ["x"]', 1))
    assert load_corpus(_cfg(corpus_dir)).hash != h1


def _first_row(corpus):
    f = sorted((corpus / "data" / "pairs").glob("*.jsonl"))[0]
    return f, json.loads(f.read_text(encoding="utf-8").splitlines()[0])


def _rewrite_first(corpus, text):
    f, _ = _first_row(corpus)
    lines = f.read_text(encoding="utf-8").splitlines()
    f.write_text("\n".join([text] + lines[1:]) + "\n", encoding="utf-8")
    return f


@pytest.mark.parametrize("mutate, message", [
    (lambda r: "{not json", r":1: malformed JSON"),
    (lambda r: json.dumps({k: v for k, v in r.items() if k != "claim"}), r":1: field 'claim': missing"),
    (lambda r: json.dumps({**r, "stance": "maybe"}), r":1: field 'stance': unknown label 'maybe'; valid labels: assert, deny, warn"),
    (lambda r: json.dumps({**r, "sentence": "  "}), r":1: field 'sentence': empty"),
    (lambda r: json.dumps({**r, "sentence": "A sentence nobody wrote."}), r":1: field 'sentence': not found verbatim"),
    (lambda r: json.dumps({**r, "doc_id": "999_missing"}), r":1: field 'doc_id': no document .*999_missing.txt"),
    (lambda r: json.dumps({**r, "stnace": "deny"}), r":1: field 'stnace': unknown field"),
    (lambda r: json.dumps({**r, "tags": "hard"}), r":1: field 'tags': expected a list of strings"),
    (lambda r: json.dumps({**r, "claim": 3}), r":1: field 'claim': expected a string"),
])
def test_bad_rows_name_file_line_and_field(corpus_dir, mutate, message):
    f, row = _first_row(corpus_dir)
    _rewrite_first(corpus_dir, mutate(row))
    with pytest.raises(StanceError, match=f"{f.name}" + message):
        load_corpus(_cfg(corpus_dir))


def test_duplicate_id_names_both_places(corpus_dir):
    files = sorted((corpus_dir / "data" / "pairs").glob("*.jsonl"))
    first = json.loads(files[0].read_text().splitlines()[0])
    second_lines = files[1].read_text().splitlines()
    dup = {**json.loads(second_lines[2]), "id": first["id"]}
    second_lines[2] = json.dumps(dup)
    files[1].write_text("\n".join(second_lines) + "\n")
    with pytest.raises(StanceError, match=rf"{files[1].name}:3: field 'id': duplicate id .*first at .*{files[0].name}:1"):
        load_corpus(_cfg(corpus_dir))


def test_claim_id_must_keep_one_text(corpus_dir):
    f, row = _first_row(corpus_dir)
    _rewrite_first(corpus_dir, json.dumps({**row, "claim": row["claim"] + " indeed"}))
    with pytest.raises(StanceError, match="another claim text|already has claim_id"):
        load_corpus(_cfg(corpus_dir))


def test_missing_data_path(tmp_path):
    with pytest.raises(StanceError, match="does not exist"):
        load_corpus(_cfg(tmp_path / "nothing"))


LABELS = ["assert", "deny", "warn"]
GOLD = [{"id": "a", "stance": "assert"}, {"id": "b", "stance": "assert"}, {"id": "c", "stance": "deny"},
        {"id": "d", "stance": "warn"}]


def _passes(tmp_path, records):
    path = tmp_path / "second_pass.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_second_pass_kappa_by_hand(tmp_path):
    # first a a d w, second d a d w: po = 3/4; pe = (2*1 + 1*2 + 1*1)/16 = 5/16; kappa = (12/16 - 5/16)/(11/16) = 7/11
    path = _passes(tmp_path, [{"id": "a", "first": "assert", "second": "deny", "sure": False, "third": "assert"},
                              {"id": "b", "first": "assert", "second": "assert", "sure": True},
                              {"id": "c", "first": "deny", "second": "deny", "sure": True},
                              {"id": "d", "first": "warn", "second": "warn", "sure": True}])
    a = second_pass_agreement(GOLD, path, LABELS)
    assert (a["agree"], a["unsure"], a["changed"]) == (3, 1, 0)
    assert a["kappa"] == pytest.approx(7 / 11)
    assert a["confusion"][("assert", "deny")] == 1


@pytest.mark.parametrize("record, message", [
    ({"id": "zz", "first": "assert", "second": "assert"}, "field 'id': 'zz' is not a pair"),
    ({"id": "a", "first": "assert", "second": "maybe"}, "field 'second': unknown label 'maybe'; valid labels: assert"),
    ({"id": "a", "first": "deny", "second": "assert", "third": "deny"}, "field 'stance': the corpus says 'assert' but the passes"),
])
def test_second_pass_errors_name_line_and_field(tmp_path, record, message):
    path = _passes(tmp_path, [{"id": "b", "first": "assert", "second": "assert"}, record])
    with pytest.raises(StanceError, match=f"second_pass.jsonl:2: {message}"):
        second_pass_agreement(GOLD, path, LABELS)


def test_second_pass_counts_pairs_not_yet_labelled_twice(tmp_path):
    path = _passes(tmp_path, [{"id": "a", "first": "assert", "second": "assert"}])
    a = second_pass_agreement(GOLD, path, LABELS)
    assert (a["pairs"], a["not_covered"], a["kappa"]) == (1, 3, 1.0)
    with pytest.raises(StanceError, match="no records"):
        second_pass_agreement(GOLD, _passes(tmp_path, []), LABELS)


def test_near_duplicates_finds_reworded_copy():
    s = ["The mayor said the bridge will reopen on Monday morning.",
         "The mayor said the bridge will reopen on Monday evening.",
         "Engineers found cracks in two of the pillars."]
    assert [(i, j) for i, j, _ in near_duplicates(s)] == [(0, 1)]


def test_story_split_keeps_headlines_and_bodies_apart():
    rows = []
    for story in range(20):
        for b in range(3):
            rows.append({"claim": f"h{story}", "doc_id": f"b{story}-{b}", "stance": "agree"})
            rows.append({"claim": f"h{story}", "doc_id": f"b{(story + 7) % 20}-{b}", "stance": "unrelated"})
    out = story_split(rows, 0.2)
    assert out["dev"] and out["train"]
    for key in ("claim", "doc_id"):
        assert not {r[key] for r in out["dev"]} & {r[key] for r in out["train"]}


def test_content_hash_depends_on_bytes(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    h = content_hash([a])
    a.write_text("y")
    assert content_hash([a]) != h


def test_write_config_helper_round_trip(tmp_path, corpus_dir):
    cfg = load_config(write_config(tmp_path / "c.yaml", corpus_dir, **{"model.type": "complement_nb"}))
    assert cfg.model.type == "complement_nb"


def test_label_share_quota_checks_a_label_with_no_pairs(corpus_dir):
    # regression: the quota loop went over the labels that occur, so an absent label passed
    from training.datasets.jsonl import check_quotas, corpus_stats
    cfg = from_dict({"data": {"path": str(corpus_dir / "data" / "pairs"), "seeds_dir": str(corpus_dir / "seeds"),
                              "labels": ["assert", "deny", "warn", "retract"]}})
    checks = {name: ok for name, ok, _ in check_quotas(corpus_stats(load_corpus(cfg)), corpus_dir / "seeds")}
    assert checks["share of retract"] is False and checks["share of assert"]
