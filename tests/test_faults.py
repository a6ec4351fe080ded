"""Faults: a run killed with SIGKILL in the middle of OCR, started again, loses nothing and redoes little."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pymupdf

from .conftest import needs_tesseract

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = 12


def scanned_document(path: Path) -> None:
    """A 12-page scan: the LinnSequencer page, cropped differently on each page so every image differs."""
    src = pymupdf.open(FIXTURES / "linn.pdf")
    pix = src[0].get_pixmap(dpi=100, colorspace=pymupdf.csGRAY)
    doc = pymupdf.open()
    for i in range(PAGES):
        page = doc.new_page(width=612, height=792 - 4 * i)
        page.insert_image(page.rect, pixmap=pix, keep_proportion=False)
    doc.save(path)


@needs_tesseract
def test_sigkill_during_ocr_then_rerun(tmp_path: Path):
    pdf, data = tmp_path / "scan.pdf", tmp_path / "data"
    scanned_document(pdf)
    exe = str(Path(sys.executable).parent / "pdf-ocr")
    cmd = [exe, "run", str(pdf), "--data-dir", str(data), "--pages", "ocr", "--dpi", "100", "--workers", "1"]
    cache = data / "cache" / "ocr"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while len(list(cache.rglob("*.json"))) < 4:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before_kill = len(list(cache.rglob("*.json")))
    assert done_before_kill < PAGES
    assert not (data / "warehouse" / "ocr_pages" / "scan.parquet").exists()

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    ocr = pl.read_parquet(data / "warehouse" / "ocr_pages" / "scan.parquet")
    assert sorted(ocr["page_no"].to_list()) == list(range(1, PAGES + 1))  # every page exactly once
    assert ocr["error"].null_count() == PAGES
    # every page finished before the kill came from the cache; only pages in flight at the kill were redone
    assert ocr["cached"].sum() == done_before_kill
    assert ocr.filter(~pl.col("cached")).height == PAGES - done_before_kill
    assert not list((data / "warehouse").rglob("*.tmp"))  # the dead run's half-written files are cleared
