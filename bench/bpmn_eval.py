"""Score BPMN extraction against ground-truth ``.bpmn`` files (shapes, flows, labels) and print a table.

    .venv/bin/python bench/bpmn_eval.py [--testdata ../shared/testdata] [--out BENCHMARKS-bpmn.md] [--quick]
        [--raster-words both|text-layer|tesseract] [--ocr-cache DIR]

Shapes match on class (``model.eval_class``) and box IoU >= 0.5 after mapping the truth's DI coordinates to
page points (0.75 x for the miwg-reference PDFs; for the others an affine fitted by least squares on shapes
whose labels agree, falling back to the drawing's extent). Flows match on class and on matched source and
target. Labels: normalised exact match and character error rate (rapidfuzz Levenshtein) over matched
elements whose truth label is not empty.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdf_ocr_pipeline.bpmn import geometry as g  # noqa: E402
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, eval_class  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402

SKIP = {"group"}


def norm_label(s: str) -> str:
    s = s.lower().replace("\u00ad", "")
    s = re.sub(r"-\s+", "-", s)
    return re.sub(r"\s+", " ", s).strip()


@dataclass
class Score:
    tp: dict = field(default_factory=lambda: defaultdict(int))
    fp: dict = field(default_factory=lambda: defaultdict(int))
    fn: dict = field(default_factory=lambda: defaultdict(int))
    labels: int = 0
    exact: int = 0
    cer_sum: float = 0.0

    def add(self, other: "Score") -> None:
        for k in ("tp", "fp", "fn"):
            for c, v in getattr(other, k).items():
                getattr(self, k)[c] += v
        self.labels += other.labels
        self.exact += other.exact
        self.cer_sum += other.cer_sum

    def prf(self, classes) -> tuple[float, float, float, int]:
        tp = sum(self.tp[c] for c in classes)
        fp = sum(self.fp[c] for c in classes)
        fn = sum(self.fn[c] for c in classes)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, tp + fn


def fit_transform(pred: BpmnDiagram, truth_raw: BpmnDiagram) -> tuple[float, float, float, float]:
    """DI -> points: least squares on box corners of shapes whose normalised labels agree (unique ones)."""
    def uniq(d):
        out = defaultdict(list)
        for e in d.shapes:
            if e.label and e.type not in SKIP:
                out[(eval_class(e.type), norm_label(e.label))].append(e)
        return {k: v[0] for k, v in out.items() if len(v) == 1}
    pu, tu = uniq(pred), uniq(truth_raw)
    src, dst = [], []
    for k in pu.keys() & tu.keys():
        tb, pb = tu[k].box, pu[k].box
        src += [(tb[0], tb[1]), (tb[2], tb[3])]
        dst += [(pb[0], pb[1]), (pb[2], pb[3])]
    if len(src) >= 6:
        t = g.fit_affine_axis(src, dst)
        # one refit without the worst third of residuals
        res = sorted(range(len(src)), key=lambda i: abs(t[0] * src[i][0] + t[2] - dst[i][0]) + abs(t[1] * src[i][1] + t[3] - dst[i][1]))
        keep = res[: max(6, int(len(res) * 0.7))]
        return g.fit_affine_axis([src[i] for i in keep], [dst[i] for i in keep])
    pb = g.box_of([p for e in pred.shapes for p in (e.box[:2], e.box[2:])]) if pred.shapes else (0, 0, 1, 1)
    tb = g.box_of([p for e in truth_raw.shapes for p in (e.box[:2], e.box[2:])])
    sx = g.width(pb) / max(g.width(tb), 1e-6)
    sy = g.height(pb) / max(g.height(tb), 1e-6)
    return sx, sy, pb[0] - sx * tb[0], pb[1] - sy * tb[1]


def score(pred: BpmnDiagram, truth: BpmnDiagram) -> Score:
    """Per-class counts for shapes and flows, and label agreement, of one page."""
    s = Score()
    ps = [e for e in pred.shapes if e.type not in SKIP]
    ts = [e for e in truth.shapes if e.type not in SKIP]
    pairs = sorted(((g.iou(p.box, t.box), i, j) for i, p in enumerate(ps) for j, t in enumerate(ts)
                    if eval_class(p.type) == eval_class(t.type)), reverse=True)
    mp, mt = {}, {}
    for v, i, j in pairs:
        if v < 0.5:
            break
        if i in mp or j in mt:
            continue
        mp[i], mt[j] = j, i
    for i, p in enumerate(ps):
        (s.tp if i in mp else s.fp)[eval_class(p.type)] += 1
    for j, t in enumerate(ts):
        if j not in mt:
            s.fn[eval_class(t.type)] += 1
    id_map = {ps[i].id: ts[j].id for i, j in mp.items()}
    truth_flows = [t for t in truth.flows]
    used = set()
    flow_pairs = []
    for p in pred.flows:
        key = (eval_class(p.type), id_map.get(p.source_id), id_map.get(p.target_id))
        hit = None
        for j, t in enumerate(truth_flows):
            if j not in used and (eval_class(t.type), t.source_id, t.target_id) == key:
                hit = j
                break
        if hit is None and eval_class(p.type) == "association":  # undirected
            for j, t in enumerate(truth_flows):
                if j not in used and eval_class(t.type) == "association" and \
                        {t.source_id, t.target_id} == {key[1], key[2]}:
                    hit = j
                    break
        if hit is None:
            s.fp["flow:" + eval_class(p.type)] += 1
        else:
            used.add(hit)
            s.tp["flow:" + eval_class(p.type)] += 1
            flow_pairs.append((p, truth_flows[hit]))
    for j, t in enumerate(truth_flows):
        if j not in used:
            s.fn["flow:" + eval_class(t.type)] += 1
    for p, t in [(ps[i], ts[j]) for i, j in mp.items()] + flow_pairs:
        if not t.label.strip():
            continue
        a, b = norm_label(p.label), norm_label(t.label)
        s.labels += 1
        s.exact += a == b
        s.cer_sum += Levenshtein.distance(a, b) / max(1, len(b))
    return s


SHAPE_CLASSES = ["task", "subProcess", "startEvent", "intermediateEvent", "endEvent", "exclusiveGateway",
                 "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway", "participant", "lane",
                 "dataObject", "dataStore", "textAnnotation"]
FLOW_CLASSES = ["flow:sequenceFlow", "flow:messageFlow", "flow:association"]


def row(name: str, s: Score, pages: int, secs: float) -> str:
    _, _, fs, ns = s.prf(SHAPE_CLASSES)
    ps_, rs_, _, _ = s.prf(SHAPE_CLASSES)
    pf, rf, ff, nf = s.prf(FLOW_CLASSES)
    ex = s.exact / s.labels if s.labels else float("nan")
    cer = s.cer_sum / s.labels if s.labels else float("nan")
    return (f"| {name} | {pages} | {ns} | {ps_:.3f} | {rs_:.3f} | {fs:.3f} | {nf} | {pf:.3f} | {rf:.3f} | {ff:.3f} | "
            f"{s.labels} | {ex:.3f} | {cer:.3f} | {secs / max(pages, 1):.2f} |")


HEADER = ("| dataset | pages | truth shapes | shape P | shape R | shape F1 | truth flows | flow P | flow R | flow F1 | "
          "labels | label exact | label CER | s/page |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def per_class_table(s: Score) -> str:
    lines = ["| class | truth | TP | FP | FN | P | R | F1 |", "|---|---|---|---|---|---|---|---|"]
    for c in SHAPE_CLASSES + FLOW_CLASSES:
        tp, fp, fn = s.tp[c], s.fp[c], s.fn[c]
        if tp + fp + fn == 0:
            continue
        p, r, f, n = s.prf([c])
        lines.append(f"| {c} | {n} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} | {f:.3f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- datasets

def _words(page):
    from pdf_ocr_pipeline.pdf.text import page_words
    return [(w.text, (w.x0, w.y0, w.x1, w.y1)) for w in page_words(page)]


def _noisy_png(page, dpi: int, seed: int) -> bytes:
    import cv2
    import numpy as np
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).astype(np.float32)
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(img, (3, 3), 0.6) + rng.normal(0, 12, img.shape)
    img[rng.random(img.shape) < 0.002] = 0  # salt and pepper specks
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])
    return buf.tobytes()


#: The miwg-reference vector set: stem -> DI-to-points transform of its .bpmn.
MIWG_VECTOR = [("A.1.0", (0.75, 0.75, 0, 0)), ("A.2.0", (0.75, 0.75, 0, 0)), ("A.3.0", (0.75, 0.75, 0, 0)),
               ("A.4.0", (0.75, 0.75, 0, 0)), ("A.4.1", (0.776, 0.778, -78.9, 80.2)), ("B.1.0", (0.75, 0.75, 0, 0)),
               ("B.2.0", (0.75, 0.75, 0, 0))]


def run(testdata: Path, quick: bool = False, raster_words: str = "both",
        ocr_cache: Path | None = None, pictures: str | None = None) -> list[tuple[str, Score, int, float]]:
    """``pictures``: ``detector`` or ``rules`` reads the raster sets; ``None``: the pipeline's choice
    (``PDF_OCR_BPMN_PICTURES``, else the trained detector when its model is there)."""
    import pymupdf
    from pdf_ocr_pipeline.bpmn.raster.detector.extract import extract_detected, extract_picture
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector
    read_picture = {"detector": extract_detected, "rules": extract_raster}.get(pictures or "", extract_picture)
    ref = testdata / "miwg-reference"
    results = []
    # 1. vector miwg-reference
    tot, t0, n = Score(), time.time(), 0
    per_file = []
    for stem, tf in MIWG_VECTOR:
        page = pymupdf.open(ref / f"{stem}.pdf")[0]
        pred = extract_vector(page, 1, _words(page))
        s = score(pred, parse_bpmn(ref / f"{stem}.bpmn", transform=tf))
        per_file.append((f"vector {stem}", s))
        tot.add(s)
        n += 1
    results.append(("miwg-reference vector (A.1.0-B.2.0 p1)", tot, n, time.time() - t0))
    # 2. enterprise-architect renders (single-page ones; the tiled multi-page exports are left out)
    tot, t0, n = Score(), time.time(), 0
    for stem, _ in MIWG_VECTOR:
        doc = pymupdf.open(testdata / "miwg-tool-renders/enterprise-architect" / f"{stem}-import.pdf")
        if len(doc) != 1:
            continue
        page = doc[0]
        pred = extract_vector(page, 1, _words(page))
        truth_raw = parse_bpmn(ref / f"{stem}.bpmn")
        s = score(pred, parse_bpmn(ref / f"{stem}.bpmn", transform=fit_transform(pred, truth_raw)))
        per_file.append((f"EA {stem}", s))
        tot.add(s)
        n += 1
    results.append(("enterprise-architect vector (single-page)", tot, n, time.time() - t0))
    # 3. C.1.1 raster (a JPEG page, no text layer): words from the project's Tesseract engine, as the pipeline
    t0 = time.time()
    page = pymupdf.open(ref / "C.1.1.pdf")[0]
    png = page.get_pixmap(dpi=150).tobytes("png")
    words = _ocr_words(png, 150, page.rect.width, page.rect.height)
    t1 = time.time()
    pred = read_picture(png, words, page_no=1, dpi=150)
    t_extract = time.time() - t1
    truth_raw = parse_bpmn(ref / "C.1.1.bpmn")
    s = score(pred, parse_bpmn(ref / "C.1.1.bpmn", transform=fit_transform(pred, truth_raw)))
    per_file.append((f"C.1.1 raster + Tesseract words ({t_extract:.1f} s extract, OCR excluded)", s))
    results.append((f"C.1.1 raster (JPEG page, Tesseract words: {len(words)})", s, 1, time.time() - t0))
    # 4. vector pages rasterised at 150 dpi with blur, noise, specks and JPEG; words from the text layer
    # (the drawing alone is measured) and/or from Tesseract on the image (as on a real scan: no text layer)
    kinds = ["text-layer", "tesseract"] if raster_words == "both" else [raster_words]
    for kind in kinds:
        tot, t0, n = Score(), time.time(), 0
        for k, (stem, tf) in enumerate(MIWG_VECTOR):
            page = pymupdf.open(ref / f"{stem}.pdf")[0]
            png = _noisy_png(page, 150, k)
            words = _words(page) if kind == "text-layer" else \
                cached_ocr_words(png, 150, page.rect.width, page.rect.height, ocr_cache)
            t1 = time.time()
            pred = read_picture(png, words, page_no=1, dpi=150)
            s = score(pred, parse_bpmn(ref / f"{stem}.bpmn", transform=tf))
            tag = "raster150" if kind == "text-layer" else "raster150-tess"
            per_file.append((f"{tag} {stem} ({time.time() - t1:.1f} s extract)", s))
            tot.add(s)
            n += 1
        what = "text-layer words" if kind == "text-layer" else "Tesseract rus+eng words, OCR time included"
        results.append((f"miwg vector pages rasterised 150 dpi + noise ({what})", tot, n, time.time() - t0))
    # 5. hdBPMN hand-drawn (words: the annotated word boxes; their text is the truth's, see note)
    if not quick:
        tot, t0, n = Score(), time.time(), 0
        hd = testdata / "hdbpmn/train"
        for img in sorted((hd / "images").glob("*.jpg")):
            ann = hd / "annotations" / f"{img.stem}.bpmn"
            import cv2

            from bench.bpmn_detector.dataset import hd_scale  # here: dataset.py imports this module
            im = cv2.imread(str(img), cv2.IMREAD_GRAYSCALE)
            k = hd_scale(ann, im.shape[1])
            words = _hd_words(hd / "words" / f"{img.stem}.xml")
            # photos are ~2800 px wide: work on a copy whose long side is at most 1400 px (points stay in
            # original pixels: dpi = 72 x the downscale factor)
            f = min(1.0, HD_MAX_SIDE / max(im.shape))
            small = cv2.resize(im, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else im
            t1 = time.time()
            pred = read_picture(small, words, page_no=1, dpi=72 * f)
            s = score(pred, parse_bpmn(ann, transform=(k, k, 0, 0)))
            per_file.append((f"hdBPMN {img.stem} ({time.time() - t1:.1f} s)", s))
            tot.add(s)
            n += 1
        results.append(("hdBPMN train (hand-drawn, raster)", tot, n, time.time() - t0))
    return results, per_file


HD_MAX_SIDE = 1400
_TESS = None


def _ocr_words(png: bytes, dpi: float, width_pt: float, height_pt: float):
    """Word boxes (points) from the project's Tesseract engine (rus+eng), as the pipeline would pass them."""
    global _TESS
    from pdf_ocr_pipeline.bpmn import words_from_blocks
    from pdf_ocr_pipeline.engines.base import PageImage
    from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions
    if _TESS is None:
        _TESS = TesseractEngine(TesseractOptions(languages="rus+eng", workers=1, psm=11))
    res = _TESS.ocr_page(PageImage(doc_id="bench", page_no=1, png=png, dpi=dpi, width_pt=width_pt,
                                   height_pt=height_pt))
    return words_from_blocks(res.blocks)


def cached_ocr_words(png: bytes, dpi: float, width_pt: float, height_pt: float, cache: Path | None):
    """``_ocr_words``, cached as JSON under ``cache`` (keyed by the image's hash; ``None``: no cache)."""
    import hashlib
    import json
    from pdf_ocr_pipeline.bpmn.labels import OcrWord, word_conf
    f = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        # "ocrc-": entries with the word confidence (the older "ocr-" files lack it)
        f = cache / f"ocrc-{hashlib.sha1(png).hexdigest()[:16]}.json"
        if f.exists():
            return [OcrWord(t, tuple(b), c) if c is not None else (t, tuple(b))
                    for t, b, c in json.loads(f.read_text(encoding="utf-8"))]
    words = _ocr_words(png, dpi, width_pt, height_pt)
    if f is not None:
        f.write_text(json.dumps([(w[0], w[1], word_conf(w)) for w in words], ensure_ascii=False), encoding="utf-8")
    return words


def _hd_words(path: Path):
    import xml.etree.ElementTree as ET
    out = []
    for o in ET.parse(path).getroot().iter("object"):
        b = o.find("bndbox")
        box = tuple(float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append((o.findtext("name") or "", box))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testdata", type=Path, default=ROOT.parent / "shared" / "testdata")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="skip the hand-drawn set")
    ap.add_argument("--raster-words", choices=("both", "text-layer", "tesseract"), default="both",
                    help="words for the rasterised set: the PDF's text layer (the drawing alone measured), "
                         "Tesseract rus+eng on the noisy image (realistic: a scan has no text layer), or both rows")
    ap.add_argument("--ocr-cache", type=Path, default=Path("/tmp/bpmn_ocr_cache"),
                    help="where Tesseract words of the rasterised pages are cached (keyed by the image's hash)")
    ap.add_argument("--pictures", choices=("detector", "rules"), default=None,
                    help="who reads the raster sets: the trained detector or the rule-based search (default: the "
                         "pipeline's choice)")
    args = ap.parse_args(argv)
    results, per_file = run(args.testdata, args.quick, args.raster_words, args.ocr_cache, args.pictures)
    lines = [HEADER] + [row(name, s, n, secs) for name, s, n, secs in results]
    table = "\n".join(lines)
    print(table)
    detail = "\n".join(f"- {name}: shapes F1 {s.prf(SHAPE_CLASSES)[2]:.3f}, flows F1 {s.prf(FLOW_CLASSES)[2]:.3f}, "
                       f"labels {s.exact}/{s.labels}" for name, s in per_file)
    print(detail)
    if args.out:
        vec = results[0][1]
        args.out.write_text(
            f"# BPMN extraction benchmark\n\nMachine: {platform.processor() or platform.machine()}, 2 cores, no GPU "
            f"(Python {platform.python_version()}). Date: {dt.date.today().isoformat()}. Command: "
            f"`.venv/bin/python bench/bpmn_eval.py --out BENCHMARKS-bpmn.md`.\n\n{table}\n\n"
            f"## Per class, miwg-reference vector\n\n{per_class_table(vec)}\n\n## Per file\n\n{detail}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
