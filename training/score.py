"""`python -m training score`: label a file of (claim, sentence) rows, chunk by chunk.

Input and output are JSONL, CSV or Parquet (a file, or a folder of Parquet parts), named by the
path's extension. Every input column is carried through; the output adds `stance`, `p_<label>`
in the model's label order, and `relevance` when the model has a relevance stage. The output is
written to a temporary sibling and renamed at the end, so an error or an interrupt never leaves
a half-written file. Memory stays flat in the input size: one chunk per worker is in flight.
The Spark engine is in score_spark.py.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from training.errors import StanceError
from training.names import SCORE_FORMATS

INPUT_COLUMNS = ("claim", "sentence")


def file_format(path: Path, role: str) -> str:
    """`jsonl`, `csv` or `parquet` from the extension (a folder of parts is Parquet)."""
    if role == "input" and path.is_dir():
        return "parquet"
    fmt = path.suffix.lower().lstrip(".")
    fmt = {"json": "jsonl", "pq": "parquet"}.get(fmt, fmt)
    if fmt not in SCORE_FORMATS:
        raise StanceError(f"{path}: unknown {role} format {path.suffix or '(no extension)'!r}; name the file "
                          f"{' or '.join('.' + f for f in SCORE_FORMATS)}")
    return fmt


def output_columns(labels, relevance: bool) -> list[str]:
    return ["stance", *(f"p_{lab}" for lab in labels), *(["relevance"] if relevance else [])]


# --- reading -------------------------------------------------------------------------------

def read_chunks(path: Path, rows: int):
    """(DataFrame, where) per chunk of at most `rows` rows; `where(i)` names row i of the chunk
    as file:line (JSONL, CSV) or file row N (Parquet) for error messages."""
    if not path.exists():
        raise StanceError(f"{path}: input not found")
    fmt = file_format(path, "input")
    yield from {"jsonl": _jsonl_chunks, "csv": _csv_chunks, "parquet": _parquet_chunks}[fmt](path, rows)


def _jsonl_chunks(path, rows):
    import pandas as pd
    from training.datasets import read_jsonl
    batch, lines = [], []
    for at, r in read_jsonl(path):
        if not isinstance(r, dict):
            raise StanceError(f"{at}: expected a JSON object with claim and sentence fields")
        batch.append(r)
        lines.append(at)
        if len(batch) == rows:
            yield pd.DataFrame.from_records(batch), lines.__getitem__
            batch, lines = [], []
    if batch:
        yield pd.DataFrame.from_records(batch), lines.__getitem__


def _csv_chunks(path, rows):
    import pandas as pd
    try:
        reader = pd.read_csv(path, chunksize=rows, dtype=str, keep_default_na=False)
        start = 2  # line 1 is the header (rows with embedded newlines would shift this)
        for df in reader:
            yield df, (lambda i, s=start: f"{path}:{s + i}")
            start += len(df)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise StanceError(f"{path}: unreadable CSV ({str(e).splitlines()[0]})") from None


def _parquet_chunks(path, rows):
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq
    try:
        start, columns = 0, None
        # file by file, batch by batch: a dataset scan decodes whole row groups ahead, about
        # 240 MB more at peak on 2,000,000 pairs written in 200,000-row groups
        for part in pads.dataset(str(path), format="parquet").files:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=rows):
                columns = columns or batch.schema.names
                if sorted(batch.schema.names) != sorted(columns):
                    raise StanceError(f"{part}: its columns {batch.schema.names} differ from the first part's {columns}; "
                                      f"give every part the same columns")
                if batch.num_rows:
                    yield batch.select(columns).to_pandas(), (lambda i, s=start: f"{path} row {s + i + 1}")
                    start += batch.num_rows
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise StanceError(f"{path}: unreadable Parquet ({str(e).splitlines()[0]})") from None


def count_rows(path: Path) -> int | None:
    """Row count when it is cheap (Parquet metadata), for the progress bar's total."""
    if file_format(path, "input") != "parquet":
        return None
    import pyarrow.dataset as pads
    return pads.dataset(str(path), format="parquet").count_rows()


def check_chunk(df, where, added: list[str]) -> None:
    for col in INPUT_COLUMNS:
        if col not in df.columns:
            raise StanceError(f"{where(0)}: no {col!r} column (columns: {', '.join(map(str, df.columns))})")
    for col in added:
        if col in df.columns:
            raise StanceError(f"{where(0)}: the input already has a {col!r} column, which the output adds; "
                              f"rename it (e.g. gold_{col}) or drop it")
    for col in INPUT_COLUMNS:
        bad = np.flatnonzero(~df[col].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool))
        if len(bad):
            v = df[col].iloc[bad[0]]
            raise StanceError(f"{where(int(bad[0]))}: field {col!r}: expected a string, got {type(v).__name__} {v!r}")


# --- labelling -----------------------------------------------------------------------------

_WORKER = {}


def label_pairs(pairs, predictor=None) -> tuple:
    """(labels, proba, relevance or None) for (claims, sentences), by the model's own predict;
    workers get and return only these, not the chunk's other columns."""
    p = predictor or _WORKER["predictor"]
    claims, sentences = pairs
    labels, proba = p.predict_with_proba(claims, sentences)
    return labels, proba, (p.relevance(claims, sentences) if p.has_relevance else None)


def add_columns(df, result, labels_order):
    """The chunk with stance, p_<label> (and relevance) added."""
    labels, proba, relevance = result
    df = df.assign(stance=labels, **{f"p_{lab}": proba[:, j] for j, lab in enumerate(labels_order)})
    return df if relevance is None else df.assign(relevance=relevance)


def _init_worker(predictor):
    _WORKER["predictor"] = predictor


# --- writing -------------------------------------------------------------------------------

class Writer:
    """Appends chunks to a temporary sibling of `path`; `commit` renames it into place."""

    def __init__(self, path: Path):
        self.path, self.fmt = path, file_format(path, "output")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self._parquet, self._fh, self.rows = None, None, 0

    def write(self, df) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(str(self.tmp), table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        else:
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
            if self.fmt == "csv":
                df.to_csv(self._fh, header=self.rows == 0, index=False)
            else:
                self._fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                                    for r in df.to_dict(orient="records"))
        self.rows += len(df)

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._fh is not None:
            self._fh.close()

    def commit(self) -> None:
        self._close()
        if self.rows == 0:
            raise StanceError(f"{self.path}: the input has no rows; nothing was written")
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self._close()
        self.tmp.unlink(missing_ok=True)


# --- the local engine ----------------------------------------------------------------------

def score_local(predictor, src: Path, dst: Path, chunk_rows: int = 5_000, workers: int = 1, log=None) -> dict:
    """Label `src` into `dst` with the model's own predict; `workers` > 1 forks that many
    processes sharing the loaded model (copy-on-write), one chunk each in flight."""
    from tqdm import tqdm

    from training.features.base import shared_cache
    if chunk_rows < 1 or workers < 1:
        raise StanceError(f"score: --chunk-rows and --workers must be at least 1, got {chunk_rows} and {workers}")
    if not src.exists():
        raise StanceError(f"{src}: input not found")
    added = output_columns(predictor.labels, predictor.has_relevance)
    writer, t = Writer(dst), time.perf_counter()
    bar = tqdm(total=count_rows(src), unit="rows", unit_scale=True, file=sys.stderr, mininterval=1.0,
               desc=f"scoring {src.name}", disable=os.environ.get("STANCE_NO_PROGRESS") == "1")
    pool, cache = None, shared_cache()
    cache.__enter__()  # sentences seen in earlier chunks are not featurized again (forked workers: each its own)
    try:
        chunks = _checked(read_chunks(src, chunk_rows), added)
        if workers > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            # unlike multiprocessing.Pool, a worker that dies (OOM killer, kill -9) fails the run
            # instead of hanging it
            if predictor.has_relevance:  # load the relevance model and its word vectors once, before the fork
                predictor.relevance(["warm up"], ["warm up"])
            gc.freeze()  # the collector would write to every object the model holds: copy-on-write copies
            pool = ProcessPoolExecutor(workers, mp.get_context("fork"), _init_worker, (predictor,))
            labelled = _bounded(pool, chunks, 2 * workers)
        else:
            labelled = ((df, label_pairs(_texts(df), predictor)) for df in chunks)
        for df, result in labelled:
            writer.write(add_columns(df, result, predictor.labels))
            bar.update(len(df))
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            gc.unfreeze()
        cache.__exit__(None, None, None)
    seconds = time.perf_counter() - t
    return {"rows": writer.rows, "seconds": seconds, "rows_per_second": writer.rows / max(seconds, 1e-9)}


def _bounded(pool, chunks, window: int):
    """(chunk, result) in input order with at most `window` chunks in flight (Pool.imap would read
    the whole input ahead into memory)."""
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool
    pending = deque()
    try:  # a dead worker breaks the pool: submit raises as well as result
        for df in chunks:
            pending.append((df, pool.submit(label_pairs, _texts(df))))
            if len(pending) >= window:
                df, future = pending.popleft()
                yield df, future.result()
        while pending:
            df, future = pending.popleft()
            yield df, future.result()
    except BrokenProcessPool:
        raise StanceError("score: a worker process died (killed, or out of memory?); nothing was written; "
                          "rerun, or use fewer workers (WORKERS=1) or smaller chunks (--chunk-rows)") from None


def _texts(df) -> tuple[list, list]:
    return df["claim"].tolist(), df["sentence"].tolist()


def _checked(chunks, added):
    for df, where in chunks:
        check_chunk(df, where, added)
        yield df
