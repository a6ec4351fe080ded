"""Tesseract throughput on CPU: one worker against one per core, same pages, same run.

    .venv/bin/python bench/run_tesseract.py [PDF] [--dpi 200] [--pages N]

The goal (issue 2): N workers reach at least 0.9 x N x one worker's pages/s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from pdf_ocr_pipeline.engines.base import OcrPage, PageImage
from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions
from pdf_ocr_pipeline.pdf.render import render_document

DEFAULT_PDF = Path(__file__).parents[1] / "data/input/Отчёт по лабораторной работе (ГОСТ 7.32).pdf"


def page_images(pdf_path: Path, dpi: int, limit: int | None = None) -> list[PageImage]:
    out = []
    for page in render_document(pdf_path, dpi=dpi):
        out.append(PageImage("bench", page.page_no, page.png, page.dpi, page.width_pt, page.height_pt))
        if limit and len(out) >= limit:
            break
    return out


def run_tesseract(pdf_path: Path, workers: int = 0, dpi: int = 200, pages: list[PageImage] | None = None) -> list[OcrPage]:
    engine = TesseractEngine(TesseractOptions(workers=workers))
    try:
        return list(engine.ocr_pages(pages or page_images(pdf_path, dpi)))
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--pages", type=int, default=None)
    args = parser.parse_args()
    images = page_images(args.pdf, args.dpi, args.pages)
    cores = os.cpu_count() or 1
    # Warm up: first use loads the language models.
    run_tesseract(args.pdf, workers=1, pages=images[:1])
    rates = {}
    for workers in (1, cores):
        started = time.perf_counter()
        run_tesseract(args.pdf, workers=workers, pages=images)
        rates[workers] = len(images) / (time.perf_counter() - started)
        print(f"{workers} worker(s): {rates[workers]:.2f} pages/s over {len(images)} pages at {args.dpi} dpi")
    print(f"scaling: {rates[cores] / rates[1]:.2f}x on {cores} cores "
          f"= {rates[cores] / (cores * rates[1]):.2f} of linear (goal >= 0.90)")


if __name__ == "__main__":
    main()
