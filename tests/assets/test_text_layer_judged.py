"""A scan carrying an earlier OCR's invisible text: judged before it is trusted, through real Dagster runs."""

import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pymupdf
import pytest
from rapidfuzz.distance import Levenshtein

from pdf_ocr_pipeline.cli import main as cli_main
from pdf_ocr_pipeline.resources import OcrEngineResource

from ..conftest import needs_tesseract
from .test_pipeline import run


def _scan_with_layer(fixtures: Path, out: Path, languages: str) -> tuple[Path, str]:
    """The report's introduction (top of page 3) scanned at 150 dpi, with Tesseract's ``-l languages`` reading
    under it as invisible text (``tesseract IMG OUT pdf``), and the page's true text."""
    with pymupdf.open(fixtures / "ru_report_p3-5_7.pdf") as doc:
        page = doc[2]
        clip = pymupdf.Rect(0, 0, page.rect.width, page.rect.height * 0.45)
        page.get_pixmap(dpi=150, clip=clip, colorspace=pymupdf.csGRAY).save(out / "scan.png")
        truth = page.get_text("text", clip=clip)
    stem = out / f"scan-{languages.replace('+', '_')}"
    subprocess.run(["tesseract", str(out / "scan.png"), str(stem), "-l", languages, "pdf"], check=True,
                   capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return stem.with_suffix(".pdf"), truth


def _cer(text: str, truth: str) -> float:
    a, b = " ".join(text.split()), " ".join(truth.split())
    return Levenshtein.distance(a, b) / max(1, len(b))


@needs_tesseract
def test_a_hidden_layer_in_the_wrong_alphabet_is_replaced_by_our_ocr(tmp_path: Path, inbox: Path, fixtures: Path,
                                                                      capsys):
    if not shutil.which("tesseract"):
        pytest.skip("the tesseract command is not installed")
    pdf, truth = _scan_with_layer(fixtures, inbox, "eng")
    layer = pymupdf.open(pdf)[0].get_text()
    assert _cer(layer, truth) > 0.5  # what auto used to take as the page's text
    doc_id, result, wh = run(tmp_path, pdf, OcrEngineResource(workers=2))
    assert result.success
    page = pl.read_parquet(wh / "rendered_pages" / f"{doc_id}.parquet").row(0, named=True)
    assert page["text_layer_kind"] == "invisible_ocr" and not page["text_layer_usable"]
    assert page["text_layer_verdict"].startswith("invisible OCR layer implausible for rus+eng")
    assert page["text_layer_score"] < 0.2
    ocr = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet").row(0, named=True)
    assert ocr["source"] == "ocr" and ocr["engine"] == "tesseract"
    auto_cer = _cer(ocr["text"], truth)
    # the same page with --pages ocr: auto now reads it exactly as well
    _, forced, wh_ocr = run(tmp_path / "forced", pdf, OcrEngineResource(workers=2, pages="ocr"))
    forced_text = pl.read_parquet(wh_ocr / "ocr_pages" / f"{doc_id}.parquet")["text"][0]
    assert auto_cer == pytest.approx(_cer(forced_text, truth), abs=0.02) and auto_cer < 0.2
    metadata = result.asset_materializations_for_node("rendered_pages")[0].metadata
    assert metadata["pages_text_layer_replaced"].value == 1 and "implausible" in metadata["replaced_layers"].value
    # the CLI's summary says so too
    assert cli_main(["run", str(pdf), "--data-dir", str(tmp_path / "cli")]) == 0
    header, _, row = capsys.readouterr().out.splitlines()[:3]
    assert "layers replaced" in header
    cells = dict(zip([h.strip() for h in header.split("  ") if h.strip()], row.split()))
    assert cells["layers replaced"] == "1" and cells["ocr"] == "1"


@needs_tesseract
def test_a_good_hidden_layer_is_kept(tmp_path: Path, inbox: Path, fixtures: Path):
    if not shutil.which("tesseract"):
        pytest.skip("the tesseract command is not installed")
    pdf, truth = _scan_with_layer(fixtures, inbox, "rus+eng")
    doc_id, result, wh = run(tmp_path, pdf, OcrEngineResource(workers=2))
    assert result.success
    page = pl.read_parquet(wh / "rendered_pages" / f"{doc_id}.parquet").row(0, named=True)
    assert page["text_layer_kind"] == "invisible_ocr" and page["text_layer_usable"]
    assert page["text_layer_verdict"] == "kept" and page["text_layer_score"] > 0.6
    ocr = pl.read_parquet(wh / "ocr_pages" / f"{doc_id}.parquet").row(0, named=True)
    assert ocr["source"] == "text_layer" and _cer(ocr["text"], truth) < 0.2
