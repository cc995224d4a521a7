"""The document columns the relevance rounds read: for each sentence of one document against
one claim, what its neighbours, its paragraph and the sentences like it say."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from training.features.base import _content
from training.text import tokens


def paragraph_columns(v: np.ndarray, same: np.ndarray, own: np.ndarray) -> np.ndarray:
    """6 columns: the best and mean score of the other sentences of the sentence's paragraph,
    how many there are, whether the sentence opens its paragraph, whether the best-scoring
    sentence of the document is in its paragraph, and the paragraph's best specific coverage."""
    count = same.sum(axis=1)
    best = np.where(same, v[None, :], -1.0).max(axis=1)
    mean = (same * v[None, :]).sum(axis=1) / np.maximum(count, 1)
    first = np.array([not same[i, :i].any() for i in range(len(v))])
    top = int(np.argmax(v))
    with_top = same[:, top] | (np.arange(len(v)) == top)
    cover = np.maximum(np.where(same, own[None, :], 0.0).max(axis=1), own)
    return np.column_stack([np.where(count > 0, best, np.nan), np.where(count > 0, mean, np.nan), count, first,
                            with_top, cover])


def specific_coverage(claim: str, texts: list[str]) -> np.ndarray:
    """6 columns: how much of the claim's document-specific wording each sentence carries. A
    document's claims share its topic words ("Marlow Falls", "outbreak"); a word used in few of
    its sentences is what tells one claim from another."""
    words = [_content(tokens(s)) for s in texts]
    n = len(texts)
    df = Counter(w for ws in words for w in ws)
    cw = _content(tokens(claim))
    weight = {w: math.log((n + 1) / (df.get(w, 0) + 1)) + (df.get(w, 0) == 0) for w in cw}
    # fsum: exact whatever the set order, which changes with the interpreter's hash seed
    mass = math.fsum(weight.values()) or 1.0
    own = np.array([math.fsum(weight[w] for w in cw & ws) / mass for ws in words])
    top = np.array([max((weight[w] for w in cw & ws), default=0.0) for ws in words])
    pad = np.pad(own, 1)
    near = np.maximum(pad[:-2], pad[2:])
    rank = np.empty(n)
    rank[np.argsort(-own, kind="stable")] = np.arange(n)
    return np.column_stack([own, top, near, own - own.mean(), rank / n, np.full(n, own.max())])


def document_columns(s: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """20 columns for one document's sentences (in order) against one claim: the scores `s`
    (relevance so far, cross) and what surrounds them; `sim` is sentence-sentence cosine."""
    v, x = s[:, 0], s[:, 1]
    n = len(v)

    def near(k, how):
        p = np.pad(v, k)
        return how(np.stack([p[k + o:k + o + n] for o in range(-k, k + 1) if o]), axis=0)

    order = np.argsort(-v, kind="stable")
    rank = np.empty(n)
    rank[order] = np.arange(n)
    anchors = order[:2]
    top = np.flatnonzero(rank < 3)
    dist = np.array([min([abs(i - j) for j in top if j != i] or [n]) for i in range(n)])
    w = np.clip(v, 0, None)
    return np.column_stack([
        v, x, x - x.mean(), near(1, np.max), near(2, np.max), near(4, np.max), near(1, np.mean), near(3, np.mean),
        sim[:, anchors].max(axis=1) if n > 1 else np.zeros(n), (sim @ w) / (sim.sum(1) + 1e-9), (sim @ w) / (w.sum() + 1e-9),
        rank / n, rank, np.full(n, v.max()), v - v.mean(), np.arange(n) / n, np.arange(n) == 0, dist, np.full(n, n),
        np.full(n, x.max())])
