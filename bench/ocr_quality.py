"""OCR quality: character error rate of Tesseract (policy ``ocr``) against known text.

    .venv/bin/python bench/ocr_quality.py [--dpi 150 200]

- Russian: every page of the GOST 7.32 report in data/input, against the page's own text layer. Pages whose
  raster screenshots hold text the text layer lacks are reported apart (the reference is incomplete there), and
  the table of contents apart (dot leaders).
- English: the LinnSequencer scan against its transcript (tests/fixtures/linn.txt).
CER = Levenshtein distance / reference length, after collapsing whitespace and dot leaders.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pymupdf
from rapidfuzz.distance import Levenshtein

from pdf_ocr_pipeline.engines.base import PageImage
from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions
from pdf_ocr_pipeline.evaluate import normalise  # one definition: pdf-ocr eval's figures match these
from pdf_ocr_pipeline.pdf.render import render_document

ROOT = Path(__file__).parents[1]
RU = ROOT / "data/input/Отчёт по лабораторной работе (ГОСТ 7.32).pdf"
LINN = ROOT / "tests/fixtures/linn.pdf"


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    ref = normalise(reference)
    return Levenshtein.distance(ref, normalise(hypothesis)), len(ref)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 200])
    args = parser.parse_args()
    engine = TesseractEngine(TesseractOptions())
    doc = pymupdf.open(RU)
    kinds = {}
    for page in doc:
        text = page.get_text()
        kinds[page.number + 1] = ("images" if page.get_images() else
                                  "contents" if "СОДЕРЖАНИЕ" in text[:40] else "prose")
    print(f"{'set':28s} {'dpi':>4s} {'pages':>5s} {'chars':>6s} {'CER':>7s}")
    for dpi in args.dpi:
        images = [PageImage("ru", p.page_no, p.png, p.dpi, p.width_pt, p.height_pt) for p in render_document(RU, dpi=dpi)]
        totals: dict[str, list[int]] = {}
        for result in engine.ocr_pages(images):
            e, n = errors(doc[result.page_no - 1].get_text(), result.text)
            t = totals.setdefault(kinds[result.page_no], [0, 0, 0])
            t[0] += e
            t[1] += n
            t[2] += 1
        for kind in ("prose", "contents", "images"):
            e, n, pages = totals[kind]
            print(f"{'ru GOST report, ' + kind:28s} {dpi:4d} {pages:5d} {n:6d} {e / n:7.2%}")
        e = sum(t[0] for t in totals.values())
        n = sum(t[1] for t in totals.values())
        print(f"{'ru GOST report, all':28s} {dpi:4d} {len(images):5d} {n:6d} {e / n:7.2%}")
        [linn] = render_document(LINN, dpi=dpi)
        result = engine.ocr_page(PageImage("en", 1, linn.png, linn.dpi, linn.width_pt, linn.height_pt))
        e, n = errors((ROOT / "tests/fixtures/linn.txt").read_text(), result.text)
        print(f"{'en LinnSequencer scan':28s} {dpi:4d} {1:5d} {n:6d} {e / n:7.2%}")
    engine.close()


if __name__ == "__main__":
    main()
