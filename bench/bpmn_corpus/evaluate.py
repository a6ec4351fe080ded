"""Score the BPMN stage on a built corpus folder (``bench.bpmn_corpus.build``), per renderer x look x language x
variant and per element class, with per-renderer (leave-one-renderer-out style) rows.

    .venv/bin/python -m bench.bpmn_corpus.evaluate /tmp/bpmn_corpus/out [--scan-words text-layer|tesseract]
        [--renderers ...] [--themes ...] [--languages ...] [--variants ...] [--limit N] [--per-file]
        [--per-class] [--group renderer [variant lang look]]

Each ``<model>-<look>[-ru]-<variant>.pdf`` is read by ``pdf_ocr_pipeline.bpmn.extract_diagram(pdf, 1)`` as the
pipeline would (its own choice of path: vector PDFs take the vector path with the page's text layer, image-only
scans and pasted pictures the raster path) and scored by ``bench.bpmn_eval.score`` against ``.truth.bpmn`` (page
points, identity transform: no fitting). The renderer, look, language and variant come from the ``.truth.json``'s
``corpus`` entry (pages of older corpora without it: from the stem; ``default``/``bold`` are bpmn-js looks).

Words for scans and pasted pages: ``text-layer`` (default) passes the vector twin's text-layer words mapped by the
variant's point map (``corpus.affine``: rotation, or the paste's scale and shift; word boxes by
``variants.map_box``), plus the page's own text layer (a pasted page's body text), so the drawing alone is
measured; ``tesseract`` OCRs each picture of the page (rus+eng, cached in ``--ocr-cache``) into its rectangle, plus
the page's own text layer, as on a real document. A measurement, never a tuning loop.

``--group renderer``: one row per renderer (all its looks, languages and variants) and one of all the others
beside it: the figures of each renderer left out of the others (no tuning happens here, so these are the
leave-one-renderer-out figures of the code measured). Any of renderer, look, lang, variant may be grouped by.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

#: stems: ``<model>-<look>[-ru]-<variant>`` (the first corpus: ``<model>-<theme>-<variant>``)
_NAME = re.compile(r"^(?P<model>.+)-(?P<look>(?!ru-)[A-Za-z0-9_]+)(?:-(?P<lang>ru))?-(?P<variant>vector|scan|pasted)$")
BPMNJS_LOOKS = ("default", "bold")
KEY_FIELDS = ("renderer", "look", "lang", "variant")
#: Columns for the issue's failure classes (eval classes of ``bench.bpmn_eval``).
CLASS_COLUMNS = [("data obj", ["dataObject"]), ("events", ["startEvent", "intermediateEvent", "endEvent"]),
                 ("tasks", ["task"]), ("gateways", ["exclusiveGateway", "parallelGateway", "inclusiveGateway",
                                                    "eventBasedGateway", "complexGateway"]),
                 ("pools", ["participant"]), ("lanes", ["lane"]), ("annot.", ["textAnnotation"]),
                 ("seq flows", ["flow:sequenceFlow"]), ("msg flows", ["flow:messageFlow"]),
                 ("assoc.", ["flow:association"])]


def page_info(truth_bpmn: Path) -> dict | None:
    """model, renderer, theme, look, lang, variant and affine of a built page (from its ``.truth.json``'s
    ``corpus``, else from the stem); ``None`` for a file that is no corpus page."""
    stem = truth_bpmn.name[: -len(".truth.bpmn")]
    m = _NAME.match(stem)
    tj = truth_bpmn.with_name(f"{stem}.truth.json")
    meta = None
    if tj.exists():
        try:
            meta = json.loads(tj.read_text(encoding="utf-8")).get("corpus")
        except ValueError:
            meta = None
    if meta is None:
        if not m:
            return None
        look = m["look"]
        renderer = "bpmnjs" if look in BPMNJS_LOOKS else look.split("_")[0]
        theme = look if renderer == "bpmnjs" else (look.split("_", 1)[1] if "_" in look else "default")
        meta = {"model": m["model"], "renderer": renderer, "theme": theme, "look": look,
                "lang": m["lang"] or "en", "variant": m["variant"], "affine": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]}
    return {"stem": stem, **meta}


def corpus_items(folder: Path, themes=None, variants=None, *, renderers=None, languages=None) -> list[dict]:
    """The built pages that have their truth and PDF (``page_info`` dicts with ``pdf``), filtered."""
    out = []
    for t in sorted(folder.glob("*.truth.bpmn")):
        info = page_info(t)
        pdf = folder / f"{t.name[: -len('.truth.bpmn')]}.pdf"
        if info is None or not pdf.exists():
            continue
        if (themes and info["look"] not in themes and info["theme"] not in themes) \
                or (variants and info["variant"] not in variants) \
                or (renderers and info["renderer"] not in renderers) or (languages and info["lang"] not in languages):
            continue
        out.append({**info, "pdf": pdf})
    return out


def _blocks(words) -> list:
    from pdf_ocr_pipeline.bpmn.labels import word_conf
    out = []
    for w in words:
        b = SimpleNamespace(text=w[0], x0=w[1][0], y0=w[1][1], x1=w[1][2], y1=w[1][3])
        if word_conf(w) is not None:
            b.confidence = word_conf(w)
        out.append(b)
    return out


def tesseract_words(pdf: Path, cache: Path | None) -> list:
    """Tesseract words (rus+eng) of each picture of page 1, placed in the picture's rectangle, and the page's
    own text-layer words: as blocks ``extract_diagram`` takes."""
    import pymupdf
    from bench.bpmn_eval import cached_ocr_words
    from pdf_ocr_pipeline.pdf.text import page_words
    out = []
    with pymupdf.open(pdf) as doc:
        page = doc[0]
        for info in page.get_images():
            xref = info[0]
            rects = page.get_image_rects(xref)
            if not rects:
                continue
            r = rects[0]
            img = doc.extract_image(xref)
            dpi = img["width"] * 72.0 / r.width
            words = cached_ocr_words(img["image"], dpi, r.width, r.height, cache)
            for b in _blocks(words):
                b.x0, b.x1, b.y0, b.y1 = b.x0 + r.x0, b.x1 + r.x0, b.y0 + r.y0, b.y1 + r.y0
                out.append(b)
        out += [SimpleNamespace(text=w.text, x0=w.x0, y0=w.y0, x1=w.x1, y1=w.y1) for w in page_words(page)]
    return out


def twin_words(pdf: Path, twin: Path, affine) -> list:
    """The vector twin's text-layer words mapped by ``affine`` onto ``pdf``'s page, and ``pdf``'s own text layer."""
    import pymupdf
    from bench.bpmn_corpus.variants import map_words
    from pdf_ocr_pipeline.pdf.text import page_words
    if not twin.exists():
        raise FileNotFoundError(f"{twin}: text-layer words for {pdf.name} need its vector twin")
    with pymupdf.open(twin) as d:
        words = map_words(page_words(d[0]), tuple(affine))
    with pymupdf.open(pdf) as d:
        words += [SimpleNamespace(text=w.text, x0=w.x0, y0=w.y0, x1=w.x1, y1=w.y1) for w in page_words(d[0])]
    return words


def page_words_for(item: dict, scan_words: str = "text-layer", ocr_cache: Path | None = None):
    """The words ``extract_diagram`` gets for a corpus page: ``None`` (its own text layer) for vector pages."""
    if item["variant"] == "vector":
        return None
    pdf = Path(item["pdf"])
    if scan_words == "tesseract":
        return tesseract_words(pdf, ocr_cache)
    twin = pdf.with_name(item["stem"][: -len(item["variant"])] + "vector.pdf")
    return twin_words(pdf, twin, item.get("affine") or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))


def score_page(item: dict, scan_words: str = "text-layer", ocr_cache: Path | None = None, log=None):
    """(Score, seconds) of one corpus page."""
    from bench.bpmn_eval import score
    from pdf_ocr_pipeline.bpmn import extract_diagram
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    pdf = Path(item["pdf"])
    words = page_words_for(item, scan_words, ocr_cache)
    t0 = time.time()
    try:
        pred = extract_diagram(pdf, 1, words=words)
    except Exception as e:  # noqa: BLE001 - a crash is a miss, reported
        if log:
            log(f"{pdf.name}: extract failed: {e!r}"[:200])
        pred = None
    secs = time.time() - t0
    pred = pred or BpmnDiagram(page_no=1, width=0.0, height=0.0)
    return score(pred, parse_bpmn(pdf.with_name(f"{item['stem']}.truth.bpmn"))), secs


def evaluate(folder: Path, *, scan_words: str = "text-layer", themes=None, variants=None, limit=None,
             ocr_cache: Path | None = None, log=None, renderers=None, languages=None):
    """{(renderer, look, lang, variant): (Score, pages, seconds)} and per-file rows ``(stem, Score, seconds,
    item)``."""
    from bench.bpmn_eval import Score
    items = corpus_items(folder, themes, variants, renderers=renderers, languages=languages)
    if limit:
        keep = sorted({i["model"] for i in items})[:limit]
        items = [i for i in items if i["model"] in keep]
    totals = defaultdict(lambda: [Score(), 0, 0.0])
    rows = []
    for item in items:
        s, secs = score_page(item, scan_words, ocr_cache, log)
        tot = totals[tuple(item[k] for k in KEY_FIELDS)]
        tot[0].add(s)
        tot[1] += 1
        tot[2] += secs
        rows.append((item["stem"], s, secs, item))
        if log:
            log(f"{item['stem']}: {_f1(s, None)} ({secs:.1f} s)")
    return dict(totals), rows


def regroup(rows, fields) -> dict:
    """Per-file rows summed by ``fields`` (a subset of ``KEY_FIELDS``): {key: [Score, pages, seconds]}."""
    from bench.bpmn_eval import Score
    out = defaultdict(lambda: [Score(), 0, 0.0])
    for _, s, secs, item in rows:
        t = out[tuple(item[k] for k in fields)]
        t[0].add(s)
        t[1] += 1
        t[2] += secs
    return dict(out)


def held_out(rows, field: str = "renderer") -> dict:
    """For each value of ``field`` (each renderer): its pages, and all the other pages: {(value, "left out" |
    "the others"): [Score, pages, seconds]}."""
    from bench.bpmn_eval import Score
    out = {}
    for v in sorted({item[field] for *_, item in rows}):
        for name, keep in (("left out", lambda it: it[field] == v), ("the others", lambda it: it[field] != v)):
            t = [Score(), 0, 0.0]
            for _, s, secs, item in rows:
                if keep(item):
                    t[0].add(s)
                    t[1] += 1
                    t[2] += secs
            if t[1]:
                out[(v, name)] = t
    return out


def _f1(s, classes) -> str:
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
    if classes is None:
        return f"shapes F1 {s.prf(SHAPE_CLASSES)[2]:.3f}, flows F1 {s.prf(FLOW_CLASSES)[2]:.3f}"
    _, _, f, n = s.prf(classes)
    return f"{f:.2f} ({n})" if n or sum(s.fp[c] for c in classes) else "-"


def table(totals, fields=KEY_FIELDS) -> str:
    """Markdown: one row per key of ``totals`` (named by ``fields``), F1 per failure class of the issue."""
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
    head = list(fields) + ["pages", "shapes", "shape F1", "flows", "flow F1", "labels exact"]
    head += [c for c, _ in CLASS_COLUMNS] + ["s/page"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, (s, n, secs) in sorted(totals.items()):
        _, _, fs, ns = s.prf(SHAPE_CLASSES)
        _, _, ff, nf = s.prf(FLOW_CLASSES)
        ex = f"{s.exact / s.labels:.3f} ({s.labels})" if s.labels else "-"
        cells = [str(k) for k in key] + [str(n), str(ns), f"{fs:.3f}", str(nf), f"{ff:.3f}", ex]
        cells += [_f1(s, cls) for _, cls in CLASS_COLUMNS] + [f"{secs / max(n, 1):.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import sys
    from bench.bpmn_eval import per_class_table
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--scan-words", choices=("text-layer", "tesseract"), default="text-layer")
    ap.add_argument("--renderers", nargs="+", default=None)
    ap.add_argument("--themes", nargs="+", default=None, help="looks (bpmn-js themes, renderer names)")
    ap.add_argument("--languages", nargs="+", default=None, choices=("en", "ru"))
    ap.add_argument("--variants", nargs="+", default=None, choices=("vector", "scan", "pasted"))
    ap.add_argument("--limit", type=int, default=None, help="the first N models (sorted by name)")
    ap.add_argument("--ocr-cache", type=Path, default=Path("/tmp/bpmn_ocr_cache"))
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("--per-class", action="store_true", help="bench_eval's per-class table per table row")
    ap.add_argument("--group", nargs="+", default=None, choices=KEY_FIELDS,
                    help="also rows summed by these fields; `renderer` adds each renderer left out vs the others")
    ap.add_argument("--json", type=Path, default=None, help="write the per-file figures here")
    args = ap.parse_args(argv)
    t0 = time.time()
    totals, rows = evaluate(args.folder, scan_words=args.scan_words, themes=args.themes, variants=args.variants,
                            limit=args.limit, ocr_cache=args.ocr_cache, renderers=args.renderers,
                            languages=args.languages,
                            log=(lambda m: print(m, file=sys.stderr)) if args.per_file else None)
    print(f"Class cells: F1 (truth count). Scan and pasted words: {args.scan_words}.\n")
    print(table(totals))
    if args.group:
        print(f"\nBy {', '.join(args.group)}:\n")
        print(table(regroup(rows, args.group), args.group))
        if "renderer" in args.group:
            print("\nEach renderer left out (its pages) against the others' pages:\n")
            print(table(held_out(rows), ("renderer", "pages of")))
    if args.per_class:
        for key, (s, _, _) in sorted(totals.items()):
            print(f"\n### {' / '.join(key)}\n\n{per_class_table(s)}")
    if args.json:
        from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
        args.json.write_text(json.dumps([{"stem": stem, **{k: item[k] for k in KEY_FIELDS},
                                          "shapes_f1": s.prf(SHAPE_CLASSES)[2], "flows_f1": s.prf(FLOW_CLASSES)[2],
                                          "labels": s.labels, "exact": s.exact, "seconds": secs}
                                         for stem, s, secs, item in rows], indent=1), encoding="utf-8")
    print(f"\n{len(rows)} pages in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
