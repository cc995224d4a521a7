"""The relevance model: per-pair scores, then rounds that re-read each document through them."""

from __future__ import annotations

import math
from collections import Counter
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._param_validation import Interval

from training.features.base import NUMBER, _content, _pairs, _unique, text_cache, transform_distinct
from training.features.lexicon import CueLexicon
from training.features.vectors import vector_columns
from training.relevance.context import document_columns, paragraph_columns, specific_coverage
from training.text import tokens


class _Content:
    """text -> its content words, each text's computed once per call, or once per batch-scoring
    run while features.base.shared_cache() is on (archives repeat sentences)."""

    def __init__(self):
        self.cache = text_cache(_Content)

    def __getitem__(self, text):
        out = self.cache.get(text)
        if out is None:
            out = self.cache[text] = _content(tokens(text))
        return out


class ClaimCoverage(BaseEstimator):
    """How much of the claim the sentence carries, weighted by how rare each claim word is:
    IDF-weighted recall of claim words, recall of claim bigrams, the rarest shared word, shared
    and unshared numbers, TF-IDF cosine, lengths; with `vectors`, the same read through pretrained
    word vectors (features.vectors): dev F1 0.788 -> 0.853, test precision/recall 0.838/0.826 -> 0.856/0.853.
    (An LSA cosine fitted on the corpus added nothing on dev: AUC 0.719 with it, 0.723 without.)"""

    def __init__(self, vectors=True):
        self.vectors = vectors

    def fit(self, X, y=None):
        claims, sentences = _pairs(X)
        uniq, _ = _unique(claims + sentences)
        self.words_ = TfidfVectorizer(sublinear_tf=True, token_pattern=r"[a-z0-9]+").fit(uniq)
        n = len(uniq)
        df = Counter(w for t in uniq for w in _content(tokens(t)))
        self.idf_ = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items()}
        self.idf_default_ = math.log(1 + n) + 1
        return self

    def _cos(self, vec, a, b):
        (ua, ia), (ub, ib) = _unique(a), _unique(b)
        a, b = transform_distinct(vec, ua, vec.transform)[ia], transform_distinct(vec, ub, vec.transform)[ib]
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()

    def transform(self, X):
        claims, sentences = _pairs(X)
        idf = lambda w: self.idf_.get(w, self.idf_default_)  # noqa: E731
        rows, content = [], _Content()
        for c, s in zip(claims, sentences):
            ct, st = tokens(c), tokens(s)
            cw, sw = content[c], content[s]
            shared = cw & sw
            mass = math.fsum(idf(w) for w in cw) or 1.0  # fsum: the same whatever the set order
            cb, sb = set(zip(ct, ct[1:])), set(zip(st, st[1:]))
            cn, sn = {w for w in cw if NUMBER.match(w)}, {w for w in sw if NUMBER.match(w)}
            rows.append((math.fsum(idf(w) for w in shared) / mass, len(shared) / max(len(cw), 1),
                         len(cb & sb) / max(len(cb), 1), max((idf(w) for w in shared), default=0.0),
                         len(shared), len(cn & sn), len(cn - sn), math.log1p(len(st)), math.log1p(len(ct))))
        out = [np.asarray(rows, dtype=np.float64).reshape(len(rows), 9), self._cos(self.words_, claims, sentences)[:, None]]
        if getattr(self, "vectors", False):  # models pickled before the vectors read without them
            out.append(vector_columns(claims, sentences, idf))
        return np.hstack(out)


# The corpus's paragraphs hold at most 11 sentences; a longer one is read as "paragraphs unknown".
MAX_PARAGRAPH = 12


def _one_a_paragraph(para: np.ndarray) -> bool:
    """Wire style: three in four paragraphs or more a single sentence. No corpus document is
    written so (at most 57% of a document's paragraphs are one sentence, 40% at the median), and
    there a lone sentence is mostly a headline or a subheading: the paragraph columns would read
    every sentence of a wire story as one (held-out wire-style articles: recall 0.59 with them,
    0.75 without)."""
    _, sizes = np.unique(para, return_counts=True)
    return (sizes == 1).mean() >= 0.75


def _cross(claims, sentences):
    """Claim word x sentence word pairs, hashed: lets a linear model learn which sentence words
    go with which claim words across topics ("killed" with "bodies", "water" with "tap")."""
    from sklearn.feature_extraction import FeatureHasher
    rows, content = [], _Content()
    for c, s in zip(claims, sentences):
        cw, sw = content[c], content[s]
        rows.append([f"{a}|{b}" for a in cw for b in sw if a != b] + [f"={a}" for a in cw & sw])
    return FeatureHasher(2 ** 20, input_type="string", alternate_sign=False).transform(rows)


class RelevanceModel(ClassifierMixin, BaseEstimator):
    """P(the sentence takes a stance toward the claim), in two stages:
    1. per pair: claim coverage, stance cues and a claim-word x sentence-word linear score, into
       a gradient-boosted ensemble (`relevance`);
    2. in a document (`in_document`), `rounds` boosters, each reading every sentence through the
       previous round's scores: its neighbours', its paragraph's, those of the sentences most like
       it, its rank, and how much of the claim's document-specific wording it carries. The
       sentences that take a stance on a claim sit together and share words with each other even
       where they share none with the claim. Measured on the test documents (README "Relevance"):
       ROC AUC 0.72 per pair, 0.88 with one round, 0.93 with three, 0.955 with paragraphs.
    Each round learns from out-of-fold scores of the one before (folds grouped by document)."""

    _parameter_constraints = {"rounds": [Interval(Integral, 1, None, closed="left")],
                              "folds": [Interval(Integral, 2, None, closed="left")],
                              "max_iter": [Interval(Integral, 1, None, closed="left")],
                              "learning_rate": [Interval(Real, 0, None, closed="neither")],
                              "C": [Interval(Real, 0, None, closed="left")],
                              "hide_paragraphs": [Interval(Real, 0, 1, closed="both")], "vectors": ["boolean"],
                              "random_state": ["random_state"]}

    def __init__(self, rounds=3, folds=3, max_iter=100, learning_rate=0.2, C=0.3, hide_paragraphs=0.25,
                 vectors=True, random_state=0):
        self.rounds = rounds
        self.vectors = vectors
        self.hide_paragraphs = hide_paragraphs
        self.folds = folds
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.C = C
        self.random_state = random_state

    # stage 1 --------------------------------------------------------------------------------
    def _fit_pairwise(self, X, y, fixed):
        """`fixed`: the columns that need no fitting (stance cues, hashed cross pairs), computed
        once for every fold by `_fixed`."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        cues, cross_x = fixed
        coverage = ClaimCoverage(vectors=self.vectors).fit(X)
        cross = (LogisticRegression(C=self.C, solver="liblinear", random_state=self.random_state).fit(cross_x, y)
                 if self.C else None)
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_depth=4, min_samples_leaf=40,
            random_state=self.random_state).fit(np.hstack([coverage.transform(X), cues]), y)
        return coverage, cross, booster

    def _fixed(self, X):
        claims, sentences = _pairs(X)
        return self.cues_.transform(X), _cross(claims, sentences)

    @staticmethod
    def _pairwise(parts, X, fixed) -> np.ndarray:
        """(n, 2): the booster's probability and the linear cross score."""
        coverage, cross, booster = parts
        cues, cross_x = fixed
        p = booster.predict_proba(np.hstack([coverage.transform(X), cues]))[:, 1]
        x = cross.decision_function(cross_x) if cross is not None else np.zeros(len(p))
        return np.column_stack([p, x])

    # stage 2 --------------------------------------------------------------------------------
    def _documents(self, X) -> list:
        """Each run of pairs with one (doc, claim), in `index` order: its rows, the similarity of
        its sentences to each other and the claim's specific coverage. None of it depends on
        the scores, so every round reuses it."""
        keys = list(zip(X["doc"], X["claim"])) if "doc" in X else [(0, c) for c in X["claim"]]
        order = np.asarray(X["index"]) if "index" in X else np.arange(len(X))
        groups: dict = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        sentences, claims = list(X["sentence"]), list(X["claim"])
        paragraphs = np.asarray(X["paragraph"], dtype=float) if "paragraph" in X else None
        out = []
        for rows in groups.values():
            rows = np.asarray(rows)[np.argsort(order[rows], kind="stable")]
            texts = [sentences[i] for i in rows]
            vectors = self.parts_[0].words_.transform(texts)
            sim = (vectors @ vectors.T).toarray()
            np.fill_diagonal(sim, 0)
            para = None if paragraphs is None else paragraphs[rows]
            same = None
            if para is not None and not np.isnan(para).any():
                same = (para[:, None] == para[None, :]) & ~np.eye(len(rows), dtype=bool)
            if same is not None and (same.sum(axis=1).max() >= MAX_PARAGRAPH or _one_a_paragraph(para)):
                same = None  # no line breaks, or one at every sentence: the paragraphs say nothing
            out.append((rows, sim, specific_coverage(claims[rows[0]], texts), same))
        return out

    @staticmethod
    def _context(docs, n: int, scores) -> np.ndarray:
        out = np.full((n, 32), np.nan)  # paragraph columns stay missing where paragraphs are unknown
        for rows, sim, specific, same in docs:
            out[rows, :20] = document_columns(scores[rows], sim)
            out[rows, 20:26] = specific
            if same is not None:
                out[rows, 26:] = paragraph_columns(scores[rows, 0], same, specific[:, 0])
        return out

    def _round_features(self, docs, pair: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """A round's columns: the document context of the previous round's scores (and of the
        cross score), plus the pair's own booster score."""
        return np.hstack([self._context(docs, len(pair), np.column_stack([previous, pair[:, 1]])), pair[:, :1]])

    def _booster(self):
        # 100 trees at 0.1 and the stage-1 booster's 100 at 0.2 (config) score as 200 at 0.05 / 0.1
        # did on dev (F1 0.841 vs 0.840 over four seeds), with half the trees per article
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=4, min_samples_leaf=40,
                                              random_state=self.random_state)

    def fit(self, X, y, groups=None):
        """X: DataFrame with `claim`, `sentence`, and for document pairs `doc` and `index` (-1 for
        sentences of other documents, which train stage 1 only)."""
        from sklearn.model_selection import GroupKFold
        self._validate_params()
        y = np.asarray(y, dtype=int)
        groups = np.asarray(X["doc"] if groups is None else groups)
        folds = GroupKFold(self.folds)
        self.cues_ = CueLexicon().fit(X)
        cues, cross_x = fixed = self._fixed(X)
        self.parts_ = self._fit_pairwise(X, y, fixed)
        pair = np.zeros((len(X), 2))
        for tr, va in folds.split(X, y, groups):
            parts = self._fit_pairwise(X.iloc[tr], y[tr], (cues[tr], cross_x[tr]))
            pair[va] = self._pairwise(parts, X.iloc[va], (cues[va], cross_x[va]))
        doc = np.asarray(X["index"]) >= 0
        Xd, y, groups, pair = X[doc].reset_index(drop=True), y[doc], groups[doc], pair[doc]
        if "paragraph" in Xd:  # callers may not know the paragraphs: learn without them too
            rng = np.random.default_rng(self.random_state)
            hide = {g for g in sorted(set(groups)) if rng.random() < self.hide_paragraphs}
            Xd = Xd.assign(paragraph=np.where(np.isin(groups, list(hide)), np.nan, Xd["paragraph"].astype(float)))
        # Each round re-reads the document through the previous round's out-of-fold scores:
        # sentences like the ones now found relevant become more likely relevant themselves.
        self.rounds_, score, docs = [], pair[:, 0], self._documents(Xd)
        for _ in range(self.rounds):
            F = self._round_features(docs, pair, score)
            F[:, np.isnan(F).all(axis=0)] = 0.0  # no paragraphs at all: the binner needs a value
            score = np.zeros(len(Xd))
            for tr, va in folds.split(F, y, groups):
                score[va] = self._booster().fit(F[tr], y[tr]).predict_proba(F[va])[:, 1]
            self.rounds_.append(self._booster().fit(F, y))
        self.classes_ = np.array([0, 1])
        return self

    def relevance(self, X) -> np.ndarray:
        """Stage 1: each pair on its own."""
        return self._pairwise(self.parts_, X, self._fixed(X))[:, 0]

    def in_document(self, X, with_pairwise: bool = False):
        """Stage 2: the pairs of each claim are one document's sentences, in order. With
        `with_pairwise`, also stage 1's scores (what `relevance` returns), computed on the way."""
        if not len(X):
            return (np.zeros(0), np.zeros(0)) if with_pairwise else np.zeros(0)
        pair, docs = self._pairwise(self.parts_, X, self._fixed(X)), self._documents(X)
        score = pair[:, 0]
        for booster in self.rounds_:
            score = booster.predict_proba(self._round_features(docs, pair, score))[:, 1]
        return (score, pair[:, 0]) if with_pairwise else score

    def predict_proba(self, X):
        p = self.in_document(X)
        return np.column_stack([1 - p, p])
