"""Score the ONNX detector (and, beside it, the rule-based raster search) with ``bench.bpmn_eval.score``.

    .venv/bin/python -m bench.bpmn_detector.evaluate --dataset /tmp/det/ds --split heldout --corpus /tmp/det/corpus \
        [--model pdf_ocr_pipeline/bpmn/detector/bpmn_detector.onnx] [--rules] [--words pipeline|tesseract|none]
        [--group renderer variant lang] [--limit N] [--threshold 0.35] [--ocr-cache /tmp/det/ocr]
    .venv/bin/python -m bench.bpmn_detector.evaluate --hdbpmn DIR --writers test [--rules]   # hand-drawn photos

Pages of a ``dataset.py`` split are rendered from their corpus PDF at ``--dpi`` as the pipeline renders pictures (a
pasted page's picture alone) and scored against the page's ``.truth.bpmn`` (page points, shifted by the clip);
hdBPMN photos against
their annotation (the photo's pixels, scaled as ``bench/bpmn_eval.py`` scales them), with their annotated word
boxes. Words: the pipeline's own (``--words pipeline``: the page through ``render_document`` and ``ocr_document``
with Tesseract rus+eng, as the assets chain them, a pasted picture read as a region at its own resolution; the
words inside the picture, shifted to it as ``document.picture_diagram`` does; a scan's words read again as a
picture's, as ``extract_diagram`` does once it found a diagram there), Tesseract rus+eng on the 150 dpi
picture itself in sparse-text mode (``--words tesseract``, the first passes' figures), or none. ``--rules`` runs
``raster.extract.extract_raster`` on the same picture and words, in the same run: the baseline column.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES, Score, _hd_words, cached_ocr_words, score  # noqa: E402
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402


def shifted(d: BpmnDiagram, dx: float, dy: float) -> BpmnDiagram:
    from dataclasses import replace

    from pdf_ocr_pipeline.bpmn.document import shift_element
    return replace(d, elements=tuple(shift_element(e, dx, dy) for e in d.elements))


def dataset_pages(dataset: Path, split: str, corpus: list[Path], dpi: float = 150.0) -> list[dict]:
    """The corpus pages of one split of a ``dataset.py`` folder, as the pipeline reads them: the PDF page rendered
    at ``dpi`` (a pasted page's picture alone, as ``document.picture_diagram`` clips it), truth in that frame."""
    coco = json.loads((dataset / "annotations" / f"{split}.json").read_text(encoding="utf-8"))
    out = []
    for im in coco["images"]:
        if im.get("source") != "corpus":
            continue
        stem = im["stem"]
        folder = next((c for c in corpus if (c / f"{stem}.truth.bpmn").exists()), None)
        if folder is None:
            raise FileNotFoundError(f"{stem}.truth.bpmn in none of {corpus}")
        tj = json.loads((folder / f"{stem}.truth.json").read_text(encoding="utf-8")).get("corpus", {})
        clip = tj.get("picture") if im.get("cropped") else None
        origin = (clip[0], clip[1]) if clip else (0.0, 0.0)
        out.append({"pdf": folder / f"{stem}.pdf", "clip": clip, "dpi": dpi, "s": dpi / 72.0, "origin": origin,
                    "truth": lambda tb=folder / f"{stem}.truth.bpmn", o=origin: shifted(parse_bpmn(tb), -o[0], -o[1]),
                    "words": None, "meta": {k: str(im.get(k)) for k in ("renderer", "look", "variant", "lang")},
                    "name": stem})
    return out


def _render(p: dict):
    """The page's grey image (rendered from its PDF, or read from its file)."""
    import cv2
    import numpy as np
    if "pdf" not in p:
        return cv2.imread(str(p["image"]), cv2.IMREAD_GRAYSCALE)
    import pymupdf
    with pymupdf.open(p["pdf"]) as doc:
        page = doc[0]
        clip = pymupdf.Rect(*p["clip"]) & page.rect if p["clip"] else None
        pix = page.get_pixmap(dpi=int(p["dpi"]), clip=clip, colorspace=pymupdf.csGRAY, alpha=False)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, : pix.width].copy()


def hdbpmn_pages(hd: Path, writers: str) -> list[dict]:
    """hdBPMN photos of the writers of one split (``writer_split.csv``): the test writers are for evaluation only."""
    from bench.bpmn_detector.dataset import hd_scale, writer_split
    split = writer_split(hd)
    out = []
    for img in sorted(hd.glob("images/**/*.jpg")):
        m = re.search(r"writer\d+", img.stem)
        if not m or split.get(m.group(0)) != writers:
            continue
        ann = hd / "annotations" / f"{img.stem}.bpmn"
        if not ann.exists():
            ann = next(iter(hd.glob(f"annotations/**/{img.stem}.bpmn")), None)
        wx = next(iter(hd.glob(f"words/**/{img.stem}.xml")), None)
        if ann is None:
            continue

        def truth(ann=ann, img=img):
            from PIL import Image
            with Image.open(img) as im:  # the size alone, not the pixels
                k = hd_scale(ann, im.width)
            return parse_bpmn(ann, transform=(k, k, 0, 0))
        out.append({"image": img, "s": 1.0, "origin": [0.0, 0.0], "truth": truth,
                    "words": (lambda wx=wx: _hd_words(wx) if wx else []),
                    "meta": {"renderer": "hdbpmn", "look": "handdrawn", "variant": "photo", "lang": "en"},
                    "name": img.stem})
    return out


def pipeline_words(p: dict, ocr_cache: Path | None) -> list:
    """The words the pipeline hands the BPMN stage for this page's picture: the OCR stage's blocks of the page
    (``bench.pasted_diagrams.pipeline_ocr``), those inside the picture's clip moved to its frame."""
    import pymupdf

    from bench.pasted_diagrams import pipeline_ocr
    from pdf_ocr_pipeline.bpmn import words_from_blocks
    from pdf_ocr_pipeline.bpmn.document import _words, words_in_region
    from pdf_ocr_pipeline.bpmn.raster.scan_words import more_words, read_as_text
    from pdf_ocr_pipeline.engines import make_engine
    from pdf_ocr_pipeline.engines.cache import PageCache
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = make_engine("tesseract", {"languages": "rus+eng", "workers": 1})
    cache = PageCache(ocr_cache / "pipeline") if ocr_cache is not None else None
    _, rows = pipeline_ocr(Path(p["pdf"]), "bench", _ENGINE, cache)
    blocks = _words(rows[0])
    if p["clip"] is None and read_as_text(blocks):  # a scan: read again as a picture, as extract_diagram does
        with pymupdf.open(p["pdf"]) as doc:
            blocks = more_words(doc[0], blocks) or blocks
    if p["clip"] is None:
        return words_from_blocks(blocks)
    return words_from_blocks(words_in_region(blocks, tuple(p["clip"])))


_ENGINE = None


def run(pages: list[dict], model: str | None, *, rules: bool, words: str, threshold: float, group: list[str],
        ocr_cache: Path | None, log=print, hybrid: bool = True) -> dict:
    import cv2

    from pdf_ocr_pipeline.bpmn.raster.detector.extract import extract_detected
    from pdf_ocr_pipeline.bpmn.raster.detector.runtime import load
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    load(model)  # the session is made before the clock starts
    res: dict = defaultdict(lambda: {"det": Score(), "rules": Score(), "pages": 0, "det_s": 0.0, "rules_s": 0.0})
    for i, p in enumerate(pages, 1):
        gray = _render(p)
        h, w = gray.shape
        s = p["s"]
        if p["words"] is not None:
            ws = p["words"]()
        elif words == "pipeline":
            ws = pipeline_words(p, ocr_cache)
        elif words == "tesseract":
            ok, png = cv2.imencode(".png", gray)
            ws = cached_ocr_words(png.tobytes(), 72 * s, w / s, h / s, ocr_cache)
        else:
            ws = []
        truth = p["truth"]()
        keys = ["all"] + ["/".join(p["meta"].get(k, "?") for k in group)] if group else ["all"]
        t0 = time.perf_counter()
        rp = None
        if rules or hybrid:  # one rule-based search serves both columns
            try:
                rp = extract_raster(gray, ws, page_no=1, dpi=72 * s, width=w / s, height=h / s)
            except Exception as e:  # a crash of the rules is a page they did not read
                log(f"rules failed on {p['name']}: {e}")
                rp = BpmnDiagram(page_no=1, width=w / s, height=h / s)
        t1 = time.perf_counter()
        pred = extract_detected(gray, ws, page_no=1, dpi=72 * s, width=w / s, height=h / s, model=model,
                                threshold=threshold, with_rules=hybrid, rules=rp)
        t2 = time.perf_counter()
        sd = score(pred, truth)
        sr = score(rp, truth) if rules else None
        for k in keys:
            res[k]["pages"] += 1
            res[k]["det"].add(sd)
            res[k]["det_s"] += (t2 - t1) + ((t1 - t0) if hybrid else 0.0)
            if sr is not None:
                res[k]["rules"].add(sr)
                res[k]["rules_s"] += t1 - t0
        if i % 25 == 0:
            log(f"{i}/{len(pages)} pages")
    return dict(res)


def figures(s: Score) -> dict:
    out = {"shapes_f1": s.prf(SHAPE_CLASSES)[2], "flows_f1": s.prf(FLOW_CLASSES)[2],
           "labels_exact": s.exact / s.labels if s.labels else float("nan")}
    for c in FLOW_CLASSES:
        out[c.split(":")[1]] = s.prf([c])[2] if s.prf([c])[3] else float("nan")
    return out


def table(res: dict, rules: bool) -> str:
    head = "| group | pages | shapes F1 | flows F1 (seq / msg / assoc) | labels exact | s/page |"
    sep = "|---|---|---|---|---|---|"
    if rules:
        head += " rules: shapes / flows / labels | rules s/page |"
        sep += "---|---|"
    lines = [head, sep]
    for k in sorted(res, key=lambda k: (k != "all", k)):
        r = res[k]
        f = figures(r["det"])
        line = (f"| {k} | {r['pages']} | {f['shapes_f1']:.3f} | {f['flows_f1']:.3f} ({f['sequenceFlow']:.3f} / "
                f"{f['messageFlow']:.3f} / {f['association']:.3f}) | {f['labels_exact']:.3f} | "
                f"{r['det_s'] / max(1, r['pages']):.2f} |")
        if rules:
            g = figures(r["rules"])
            line += (f" {g['shapes_f1']:.3f} / {g['flows_f1']:.3f} / {g['labels_exact']:.3f} | "
                     f"{r['rules_s'] / max(1, r['pages']):.2f} |")
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=None, help="a dataset.py folder")
    ap.add_argument("--split", default="heldout")
    ap.add_argument("--corpus", type=Path, nargs="*", default=[], help="corpus folders holding the .truth.bpmn")
    ap.add_argument("--hdbpmn", type=Path, default=None, help="hdBPMN data folder (images/, annotations/, words/)")
    ap.add_argument("--writers", default="test", choices=("train", "val", "test"))
    ap.add_argument("--model", default=None, help="ONNX file (default: the committed model)")
    ap.add_argument("--rules", action="store_true", help="also score the rule-based raster search")
    ap.add_argument("--words", choices=("pipeline", "tesseract", "none"), default="pipeline")
    ap.add_argument("--ocr-cache", type=Path, default=Path("/tmp/bpmn_detector_ocr"))
    ap.add_argument("--group", nargs="*", default=["renderer", "variant"])
    ap.add_argument("--dpi", type=float, default=150.0, help="corpus pages are rendered at this resolution "
                    "(the pipeline's pictures: document.RASTER_DPI)")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--detector-alone", action="store_true",
                    help="no rule-based lanes and pools beside the detector (the pipeline uses them)")
    ap.add_argument("--limit", type=int, default=None, help="N pages spread evenly over the set")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = ap.parse_args(argv)
    from pdf_ocr_pipeline.bpmn.raster.detector.decode import SCORE_THRESHOLD
    pages = []
    if args.dataset:
        pages += dataset_pages(args.dataset, args.split, args.corpus, args.dpi)
    if args.hdbpmn:
        pages += hdbpmn_pages(args.hdbpmn, args.writers)
    if not pages:
        ap.error("no pages: give --dataset (with --corpus) and/or --hdbpmn")
    if args.limit and len(pages) > args.limit:  # spread over the set (pages come sorted by model), not its head
        step = len(pages) / args.limit
        pages = [pages[int(i * step)] for i in range(args.limit)]
    res = run(pages, args.model, rules=args.rules, words=args.words,
              threshold=args.threshold if args.threshold is not None else SCORE_THRESHOLD,
              group=args.group, ocr_cache=args.ocr_cache, log=lambda s: print(s, file=sys.stderr),
              hybrid=not args.detector_alone)
    print(table(res, args.rules))
    if args.json:
        args.json.write_text(json.dumps({k: {"pages": v["pages"], "detector": figures(v["det"]),
                                             **({"rules": figures(v["rules"])} if args.rules else {})}
                                         for k, v in res.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
