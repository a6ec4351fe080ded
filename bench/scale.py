"""Scale: peak memory against page count, throughput, Dagster's overhead and the OCR engine's busy share.

    .venv/bin/python bench/scale.py --kind text --pages 50 2000
    .venv/bin/python bench/scale.py --kind plain --pages 2000
    .venv/bin/python bench/scale.py --kind pictures --pages 250
    .venv/bin/python bench/scale.py --kind scan --pages 50 500

Builds a document of N pages (``text``: pages of the Russian GOST report repeated, read from the text layer, its
screenshots with them; ``plain``: only the report's pages without pictures, repeated; ``pictures``: plain pages
with a company logo in every page's header and ``PICTURES`` distinct pictures (the report's screenshots) on as
many pages, as the users' regulations are; ``scan``: a scanned page repeated, each copy slightly different so the
OCR cache never hits), runs
``pdf-ocr run`` on it in a fresh process, and reports the process's peak resident memory (from the kernel's
rusage of the child: the largest single process), the peak of the process and its worker processes together
(sampled from /proc), wall time, pages/s end to end, the stages' own seconds against the run's wall time (the
rest is Dagster and process start-up), and the OCR workers' busy share of the OCR stage.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl
import pymupdf

from pdf_ocr_pipeline.report import read_table

ROOT = Path(__file__).parents[1]
TEXT_SOURCE = ROOT / "data/input/Отчёт по лабораторной работе (ГОСТ 7.32).pdf"
SCAN_SOURCE = ROOT / "tests/fixtures/linn.pdf"


#: ``pictures``: distinct pictures in the document (the issue's 250-page document with 20 pictures).
PICTURES = 20


def build(kind: str, pages: int, path: Path) -> None:
    doc = pymupdf.open()
    src = pymupdf.open(TEXT_SOURCE)
    if kind == "text":
        while doc.page_count < pages:
            doc.insert_pdf(src, to_page=min(src.page_count, pages - doc.page_count) - 1)
    elif kind in ("plain", "pictures"):
        plain = [p.number for p in src if not p.get_images()]
        while doc.page_count < pages:
            for no in plain[:pages - doc.page_count]:
                doc.insert_pdf(src, from_page=no, to_page=no)
        if kind == "pictures":
            distinct = {src.extract_image(xref)["image"]: None for p in src for xref, *_ in p.get_images()}
            shots = list(distinct)[:PICTURES]  # the report shows one screenshot twice
            logo = _logo_png()
            step = pages // PICTURES or 1
            for i in range(0, pages, step):  # a picture page every so often: a paragraph, the picture, a caption
                if not shots:
                    break
                doc.delete_page(i)
                page = doc.new_page(i, width=595, height=842)
                page.insert_font(fontname="serif", fontfile="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
                page.insert_textbox(pymupdf.Rect(85, 80, 530, 200), f"На рисунке {i // step + 1} представлен "
                                    "интерфейс программы после выполнения операции.", fontname="serif", fontsize=12)
                page.insert_image(pymupdf.Rect(110, 210, 500, 500), stream=shots.pop())
                page.insert_text((150, 530), f"Рисунок {i // step + 1} – Интерфейс программы", fontname="serif",
                                 fontsize=12)
            for page in doc:
                page.insert_image(pymupdf.Rect(60, 12, 220, 44), stream=logo)
    else:
        pix = pymupdf.open(SCAN_SOURCE)[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
        jpeg = pix.tobytes("jpeg", jpg_quality=80)
        for i in range(pages):
            page = doc.new_page(width=612 - i % 40, height=792 - i // 40)  # each size once: no cache hits
            page.insert_image(page.rect, stream=jpeg, keep_proportion=False)
    doc.save(path, garbage=1, deflate=True)


def _logo_png() -> bytes:
    """A company logo with its name: the picture a Word template repeats in every page's header."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    img = Image.new("RGB", (520, 104), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([2, 2, 517, 101], outline=(20, 60, 140), width=3)
    draw.ellipse([16, 26, 66, 76], fill=(20, 60, 140))
    draw.text((84, 28), "ООО «Регламент»", fill=(20, 20, 20), font=font)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (worker processes), from /proc; 0 once it is gone."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE_SIZE
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return total / 2**20


def run(pdf: Path, data: Path, extra: list[str]) -> dict:
    exe = str(Path(sys.executable).parent / "pdf-ocr")
    started = time.perf_counter()
    proc = subprocess.Popen([exe, "run", str(pdf), "--data-dir", str(data), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    # The kernel's peak (ru_maxrss) is that of the largest single process; with page workers the run's memory is
    # their sum, sampled every 50 ms.
    tree_peak, done = [0.0], threading.Event()

    def sample():
        while not done.wait(0.05):
            tree_peak[0] = max(tree_peak[0], tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    out = proc.stdout.read().decode()
    if status != 0:
        raise SystemExit(f"pdf-ocr failed:\n{out}")
    metrics = read_table(data, "run_metrics")
    stage_seconds = metrics["seconds"].sum()
    ocr = metrics.filter(pl.col("stage") == "ocr_pages").row(0, named=True)
    pages = read_table(data, "ocr_pages")
    regions = [r for page in (pages["regions"].to_list() if "regions" in pages.columns else []) for r in page or ()]
    return {"regions_read": sum(1 for r in regions if not r["cached"]),
            "regions_reused": sum(r["cached"] for r in regions),
            "peak_rss_mb": usage.ru_maxrss / 1024, "tree_rss_mb": tree_peak[0], "wall_s": wall,
            "stage_s": stage_seconds,
            "busy": ocr["engine_busy_share"], "stages": dict(zip(metrics["stage"], metrics["seconds"])),
            "rss": dict(zip(metrics["stage"], metrics["peak_rss_mb"]))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["text", "plain", "pictures", "scan"], default="text")
    parser.add_argument("--pages", type=int, nargs="+", default=[50, 2000])
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args()
    extra = ["--pages", "auto", "--dpi", str(args.dpi)]
    print(f"{'kind':5s} {'pages':>6s} {'peak RSS MiB':>12s} {'with workers':>12s} {'wall s':>8s} {'pages/s':>8s} "
          f"{'outside stages':>15s} "
          f"{'OCR busy':>9s} {'regions read/reused':>20s}  per stage: seconds / peak RSS so far")
    for n in args.pages:
        with tempfile.TemporaryDirectory() as tmp:
            pdf = Path(tmp) / f"{args.kind}-{n}.pdf"
            build(args.kind, n, pdf)
            r = run(pdf, Path(tmp) / "data", extra)
            outside = 1 - r["stage_s"] / r["wall_s"]
            busy = f"{r['busy']:.2f}" if r["busy"] is not None else "-"
            stages = ", ".join(f"{k} {v:.1f} s/{r['rss'][k]:.0f} MiB" for k, v in r["stages"].items())
            print(f"{args.kind:5s} {n:6d} {r['peak_rss_mb']:12.0f} {r['tree_rss_mb']:12.0f} {r['wall_s']:8.1f} "
                  f"{n / r['wall_s']:8.1f} "
                  f"{outside:15.1%} {busy:>9s} {r['regions_read']:>11d}/{r['regions_reused']:<8d}  {stages}",
                  flush=True)


if __name__ == "__main__":
    main()
