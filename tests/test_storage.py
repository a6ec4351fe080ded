from pathlib import Path

import polars as pl
import pytest

from pdf_ocr_pipeline.schemas import TABLES, markdown_tables
from pdf_ocr_pipeline.storage import Warehouse


def _row(i: int) -> dict:
    return {"doc_id": "d", "stage": "ocr_pages", "pages": i, "seconds": 1.0}


def test_write_streams_row_groups_and_reads_back(tmp_path: Path):
    store = Warehouse(tmp_path)
    n = store.write("run_metrics", "d", (_row(i) for i in range(40)))
    assert n == 40
    frame = pl.read_parquet(tmp_path / "run_metrics" / "d.parquet")
    assert frame["pages"].to_list() == list(range(40))
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(tmp_path / "run_metrics" / "d.parquet").metadata
    assert meta.num_row_groups == 3  # 16 + 16 + 8: bounded batches
    assert pq.read_schema(tmp_path / "run_metrics" / "d.parquet").equals(TABLES["run_metrics"], check_metadata=False)


def test_a_failed_write_keeps_the_previous_version_and_leaves_no_temp_file(tmp_path: Path):
    store = Warehouse(tmp_path)
    store.write("run_metrics", "d", [_row(1)])

    def broken():
        yield _row(2)
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        store.write("run_metrics", "d", broken())
    assert store.read("run_metrics", "d")["pages"].to_list() == [1]
    assert [p.name for p in (tmp_path / "run_metrics").iterdir()] == ["d.parquet"]


def test_empty_tables_still_have_the_schema(tmp_path: Path):
    store = Warehouse(tmp_path)
    store.write("ocr_pages", "d", [])
    frame = store.read("ocr_pages", "d")
    assert frame.height == 0 and "blocks" in frame.columns


def test_unsafe_keys_are_refused(tmp_path: Path):
    store = Warehouse(tmp_path)
    for key in ["../x", "a/b", ".hidden", "", "*", "a[1]", "a\x00b", "x" * 201]:
        with pytest.raises(ValueError):
            store.path("raw_pdfs", key)


def test_every_column_is_documented():
    for name, schema in TABLES.items():
        for field in schema:
            assert field.metadata and field.metadata.get(b"doc"), f"{name}.{field.name} has no doc"
    assert "#### `ocr_pages`" in markdown_tables()


def test_readme_schema_section_is_current():
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    assert markdown_tables() in readme, "run `python -m pdf_ocr_pipeline.schemas` and paste into README.md"


def test_the_document_lock_clears_a_dead_writers_temp_files(tmp_path: Path):
    store = Warehouse(tmp_path)
    (tmp_path / "ocr_pages").mkdir()
    stale = tmp_path / "ocr_pages" / ".d.~abc123.parquet.tmp"
    other = tmp_path / "ocr_pages" / ".d.x.~abc123.parquet.tmp"  # document "d.x", not "d"
    stale.write_bytes(b"half")
    other.write_bytes(b"half")
    with store.document_lock("d"):
        assert not stale.exists() and other.exists()  # only the locked document's leftovers


def test_the_document_lock_makes_writers_of_one_document_take_turns(tmp_path: Path):
    import threading
    import time

    store = Warehouse(tmp_path)
    events: list[str] = []

    def writer(name: str, hold: float):
        with store.document_lock("d"):
            events.append(f"{name} in")
            time.sleep(hold)
            events.append(f"{name} out")

    first = threading.Thread(target=writer, args=("a", 0.3))
    first.start()
    time.sleep(0.05)
    second = threading.Thread(target=writer, args=("b", 0))
    second.start()
    first.join()
    second.join()
    assert events == ["a in", "a out", "b in", "b out"]
    with store.document_lock("other"):  # other documents are not held up
        pass
