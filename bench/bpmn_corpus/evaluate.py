"""Score the BPMN stage on a built corpus folder (``bench.bpmn_corpus.build``), per theme x variant and class.

    .venv/bin/python -m bench.bpmn_corpus.evaluate /tmp/bpmn_corpus/out [--scan-words text-layer|tesseract]
        [--themes ...] [--variants ...] [--limit N] [--per-file]

Each ``<model>-<theme>-<variant>.pdf`` is read by ``pdf_ocr_pipeline.bpmn.extract_diagram(pdf, 1)`` as the
pipeline would (its own choice of path: vector PDFs take the vector path with the page's text layer, image-only
scans the raster path) and scored by ``bench.bpmn_eval.score`` against ``.truth.bpmn`` (page points, identity
transform: no fitting). Words for scans: ``text-layer`` (default) passes the vector twin's text-layer words, which
lie at the same place on the scan's page, so the drawing alone is measured; ``tesseract`` OCRs the scan image
(rus+eng, cached in ``--ocr-cache``), as on a real scan. A measurement, never a tuning loop.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

_NAME = re.compile(r"^(?P<model>.+)-(?P<theme>[A-Za-z0-9_]+)-(?P<variant>vector|scan)$")
#: Columns for the issue's failure classes (eval classes of ``bench.bpmn_eval``).
CLASS_COLUMNS = [("data obj", ["dataObject"]), ("events", ["startEvent", "intermediateEvent", "endEvent"]),
                 ("tasks", ["task"]), ("gateways", ["exclusiveGateway", "parallelGateway", "inclusiveGateway",
                                                    "eventBasedGateway", "complexGateway"]),
                 ("pools", ["participant"]), ("lanes", ["lane"]), ("annot.", ["textAnnotation"]),
                 ("seq flows", ["flow:sequenceFlow"]), ("msg flows", ["flow:messageFlow"]),
                 ("assoc.", ["flow:association"])]


def corpus_items(folder: Path, themes=None, variants=None) -> list[tuple[str, str, str, Path]]:
    """(model, theme, variant, pdf) for each built page that has its truth."""
    out = []
    for t in sorted(folder.glob("*.truth.bpmn")):
        stem = t.name[: -len(".truth.bpmn")]
        m = _NAME.match(stem)
        pdf = folder / f"{stem}.pdf"
        if not m or not pdf.exists():
            continue
        if (themes and m["theme"] not in themes) or (variants and m["variant"] not in variants):
            continue
        out.append((m["model"], m["theme"], m["variant"], pdf))
    return out


def _tesseract_words(pdf: Path, cache: Path | None):
    """Tesseract words of the scan's embedded image, as blocks ``extract_diagram`` takes."""
    import pymupdf
    from bench.bpmn_eval import cached_ocr_words
    from pdf_ocr_pipeline.bpmn.labels import word_conf
    with pymupdf.open(pdf) as doc:
        page = doc[0]
        xref = page.get_images()[0][0]
        img = doc.extract_image(xref)
        dpi = img["width"] * 72.0 / page.rect.width
        words = cached_ocr_words(img["image"], dpi, page.rect.width, page.rect.height, cache)
    blocks = []
    for w in words:
        b = SimpleNamespace(text=w[0], x0=w[1][0], y0=w[1][1], x1=w[1][2], y1=w[1][3])
        if word_conf(w) is not None:
            b.confidence = word_conf(w)
        blocks.append(b)
    return blocks


def evaluate(folder: Path, *, scan_words: str = "text-layer", themes=None, variants=None, limit=None,
             ocr_cache: Path | None = None, log=None):
    """{(theme, variant): (Score, pages, seconds)} and per-file rows."""
    import pymupdf
    from bench.bpmn_eval import Score, score
    from pdf_ocr_pipeline.bpmn import extract_diagram
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    from pdf_ocr_pipeline.pdf.text import page_words
    items = corpus_items(folder, themes, variants)
    if limit:
        keep = sorted({m for m, *_ in items})[:limit]
        items = [i for i in items if i[0] in keep]
    totals = defaultdict(lambda: [Score(), 0, 0.0])
    rows = []
    for model, theme, variant, pdf in items:
        words = None
        if variant == "scan":
            if scan_words == "tesseract":
                words = _tesseract_words(pdf, ocr_cache)
            else:
                twin = folder / f"{model}-{theme}-vector.pdf"
                if not twin.exists():
                    raise FileNotFoundError(f"{twin}: text-layer words for the scan need its vector twin")
                with pymupdf.open(twin) as d:
                    words = page_words(d[0])
        t0 = time.time()
        try:
            pred = extract_diagram(pdf, 1, words=words)
        except Exception as e:  # noqa: BLE001 - a crash is a miss, reported
            if log:
                log(f"{pdf.name}: extract failed: {e!r}"[:200])
            pred = None
        secs = time.time() - t0
        pred = pred or BpmnDiagram(page_no=1, width=0.0, height=0.0)
        s = score(pred, parse_bpmn(folder / f"{model}-{theme}-{variant}.truth.bpmn"))
        tot = totals[(theme, variant)]
        tot[0].add(s)
        tot[1] += 1
        tot[2] += secs
        rows.append((pdf.stem, s, secs))
        if log:
            log(f"{pdf.stem}: {_f1(s, None)} ({secs:.1f} s)")
    return dict(totals), rows


def _f1(s, classes) -> str:
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
    if classes is None:
        return f"shapes F1 {s.prf(SHAPE_CLASSES)[2]:.3f}, flows F1 {s.prf(FLOW_CLASSES)[2]:.3f}"
    _, _, f, n = s.prf(classes)
    return f"{f:.2f} ({n})" if n or sum(s.fp[c] for c in classes) else "-"


def table(totals) -> str:
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
    head = ["theme", "variant", "pages", "shapes", "shape F1", "flows", "flow F1", "labels exact"]
    head += [c for c, _ in CLASS_COLUMNS] + ["s/page"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (theme, variant), (s, n, secs) in sorted(totals.items()):
        _, _, fs, ns = s.prf(SHAPE_CLASSES)
        _, _, ff, nf = s.prf(FLOW_CLASSES)
        ex = f"{s.exact / s.labels:.3f}" if s.labels else "-"
        cells = [theme, variant, str(n), str(ns), f"{fs:.3f}", str(nf), f"{ff:.3f}", ex]
        cells += [_f1(s, cls) for _, cls in CLASS_COLUMNS] + [f"{secs / max(n, 1):.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import sys
    from bench.bpmn_eval import per_class_table
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--scan-words", choices=("text-layer", "tesseract"), default="text-layer")
    ap.add_argument("--themes", nargs="+", default=None)
    ap.add_argument("--variants", nargs="+", default=None, choices=("vector", "scan"))
    ap.add_argument("--limit", type=int, default=None, help="the first N models (sorted by name)")
    ap.add_argument("--ocr-cache", type=Path, default=Path("/tmp/bpmn_ocr_cache"))
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("--per-class", action="store_true", help="bench_eval's per-class table per theme x variant")
    args = ap.parse_args(argv)
    t0 = time.time()
    totals, rows = evaluate(args.folder, scan_words=args.scan_words, themes=args.themes, variants=args.variants,
                            limit=args.limit, ocr_cache=args.ocr_cache,
                            log=(lambda m: print(m, file=sys.stderr)) if args.per_file else None)
    print(f"Class cells: F1 (truth count). Scan words: {args.scan_words}.\n")
    print(table(totals))
    if args.per_class:
        for (theme, variant), (s, _, _) in sorted(totals.items()):
            print(f"\n### {theme} / {variant}\n\n{per_class_table(s)}")
    print(f"\n{len(rows)} pages in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
