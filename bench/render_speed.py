"""Rendering speed: PyMuPDF (our path: render + PNG encode, in memory) against poppler's pdftoppm, same pages.

    .venv/bin/python bench/render_speed.py [PDF] [--dpi 150] [--repeat 3]

Both write RGB PNGs at the same resolution; pdftoppm runs as one process over the whole document (its best case).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pdf_ocr_pipeline.pdf.render import render_document

DEFAULT_PDF = Path(__file__).parents[1] / "data/input/Отчёт по лабораторной работе (ГОСТ 7.32).pdf"


def ours(pdf: Path, dpi: int) -> tuple[int, float]:
    started = time.perf_counter()
    pages = sum(1 for page in render_document(pdf, dpi=dpi) if page.png)
    return pages, time.perf_counter() - started


def pdftoppm(pdf: Path, dpi: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), f"{out}/p"], check=True)
        elapsed = time.perf_counter() - started
        return len(list(Path(out).glob("*.png"))), elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("pdftoppm"):
        raise SystemExit("pdftoppm not found: apt-get install poppler-utils")
    best = {"pymupdf": float("inf"), "pdftoppm": float("inf")}
    pages = 0
    for _ in range(args.repeat):  # interleaved, best of N: the least disturbed run of each
        pages, t = ours(args.pdf, args.dpi)
        best["pymupdf"] = min(best["pymupdf"], t)
        n, t = pdftoppm(args.pdf, args.dpi)
        assert n == pages
        best["pdftoppm"] = min(best["pdftoppm"], t)
    print(f"{args.pdf.name}: {pages} pages at {args.dpi} dpi, best of {args.repeat}, {platform.processor() or platform.machine()}")
    for name, t in best.items():
        print(f"  {name:9s} {t:6.2f} s  {pages / t:6.1f} pages/s")
    print(f"  ratio pymupdf / pdftoppm speed: {best['pdftoppm'] / best['pymupdf']:.2f}x")


if __name__ == "__main__":
    main()
