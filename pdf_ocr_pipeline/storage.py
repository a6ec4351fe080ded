"""The warehouse: one Parquet file per asset and document, written atomically, read in bounded batches.

Layout: ``<data_dir>/warehouse/<asset>/<doc_id>.parquet``. A notebook reads a whole asset with
``pl.scan_parquet("data/warehouse/ocr_pages/*.parquet")``. No Dagster here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from .inbox import is_safe_key
from .schemas import TABLES

#: Rows per Parquet row group (and per in-memory batch) for page tables: bounds memory for any page count.
PAGE_BATCH = 16


class Warehouse:
    """Reads and writes the pipeline's tables under ``root`` (``<data_dir>/warehouse``). Thread-safe."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, table: str, doc_id: str) -> Path:
        if table not in TABLES:
            raise KeyError(f"unknown table {table!r}")
        if not is_safe_key(doc_id):
            raise ValueError(f"unsafe document key {doc_id!r}")
        return self.root / table / f"{doc_id}.parquet"

    def exists(self, table: str, doc_id: str) -> bool:
        return self.path(table, doc_id).is_file()

    def write(self, table: str, doc_id: str, rows: Iterable[dict] | Iterable[list[dict]], *, batched: bool = False) -> int:
        """Write a table atomically: a temporary file in the same folder, fsynced, then renamed over the old one.

        Args:
            table: table name (a key of ``schemas.TABLES``).
            doc_id: the document's partition key.
            rows: dicts matching the schema, or (``batched=True``) lists of them, each written as one row group,
                so a generator keeps memory bounded.
        Returns:
            The number of rows written.
        """
        schema = TABLES[table]
        target = self.path(table, doc_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{doc_id}.~", suffix=".parquet.tmp", dir=target.parent)
        os.close(fd)
        count = 0
        try:
            with pq.ParquetWriter(tmp_name, schema, compression=_compression(schema),
                                  use_dictionary=[f.name for f in schema if f.type != pa.binary()]) as writer:
                for batch in rows if batched else _chunks(rows, PAGE_BATCH):
                    if batch:
                        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                        count += len(batch)
            with open(tmp_name, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return count

    def read(self, table: str, doc_id: str, columns: list[str] | None = None) -> pl.DataFrame:
        return pl.read_parquet(self.path(table, doc_id), columns=columns)

    def iter_rows(self, table: str, doc_id: str, columns: list[str] | None = None,
                  batch_size: int = PAGE_BATCH) -> Iterator[dict]:
        """Rows one by one, read a row group at a time (memory stays bounded).

        One ``read_row_group`` at a time rather than ``iter_batches``: the batch reader keeps memory for every row
        group it has passed (2,000 pages of words: +27 MiB), a row group read and dropped keeps none.
        """
        with pq.ParquetFile(self.path(table, doc_id)) as pf:
            for group in range(pf.num_row_groups):
                for batch in pf.read_row_group(group, columns=columns).to_batches(max_chunksize=batch_size):
                    yield from batch.to_pylist()

    @contextlib.contextmanager
    def document_lock(self, doc_id: str) -> Iterator[None]:
        """Hold the document's lock: two processes working on one document take turns, never interleave writes.

        An advisory ``flock`` on ``<root>/.locks/<doc_id>.lock``; the kernel drops it when a holder dies.
        """
        self.path("raw_pdfs", doc_id)  # validates the key
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{doc_id}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                # Whoever held the lock before us is gone: their half-written temporary files are garbage.
                for table in TABLES:
                    for stale in (self.root / table).glob(f".{doc_id}.~*.parquet.tmp"):
                        stale.unlink(missing_ok=True)
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file (a ``.bpmn``, a document's Markdown) through a temporary file and a rename: a reader never
    sees half of it, and a killed run leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _compression(schema: pa.Schema) -> dict[str, str]:
    """zstd for every column but images: PNG is compressed already, zstd would only spend time and memory."""
    return {f.name: "none" if f.type == pa.binary() else "zstd" for f in schema}


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
