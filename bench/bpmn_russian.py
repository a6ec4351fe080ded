"""Russian twins of the miwg-reference vector diagrams, and English vs Russian label figures side by side.

    .venv/bin/python bench/bpmn_russian.py [--testdata ../shared/testdata] [--out-dir DIR] [--no-raster]

For each of A.1.0-B.2.0 (page 1) the English label text in the PDF is redacted (text only: drawings and fills
stay) and the Russian translation from ``bench/bpmn_russian_glossary.json`` is written in its place with DejaVu
Sans at the original size (smaller only when the wrapped text cannot fit), centred on the same box and
wrapped to the width of the English label (wider where a Russian word needs it: up to the task for labels
inside a task). The truth ``.bpmn`` is rewritten with lxml: only ``name`` attributes and text-annotation texts
change; ids, DI and everything else stay.

Both sets are then scored with ``bench/bpmn_eval.py``'s scorer: the vector path on the text layer, and the page
rasterised at 150 dpi with bpmn_eval's scan noise, words from Tesseract ``rus+eng`` (as the pipeline passes
OCR words). OCR words are cached under ``--out-dir`` (keyed by the image's hash), so a rerun after a change in
the label code costs only the extraction.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bpmn_eval as ev  # noqa: E402
from pdf_ocr_pipeline.bpmn import geometry as g  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402

GLOSSARY = ROOT / "bench" / "bpmn_russian_glossary.json"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SET = ev.MIWG_VECTOR  # the vector set of bench/bpmn_eval.py: stem -> DI-to-points transform
MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def load_glossary(path: Path = GLOSSARY) -> dict[str, str]:
    return {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if not k.startswith("_")}


def _norm(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"(?<=\w)-\s+", "-", s)


def _within(part: str, whole: str) -> bool:
    """``part`` (one text line) is a run of ``whole``'s words; a line may end on, or start after, the hyphen
    of a word broken across lines ("Sub-" / "Process 1")."""
    for m in re.finditer(re.escape(part), whole):
        i, j = m.start(), m.end()
        if (i == 0 or whole[i - 1] in " -") and (j == len(whole) or whole[j] == " " or part.endswith("-")):
            return True
    return False


@dataclass
class Line:
    text: str
    box: tuple[float, float, float, float]
    size: float
    vertical: bool


def text_lines(page) -> list[Line]:
    """The page's text lines (PyMuPDF ``dict`` lines), split where a line jumps by more than two spaces."""
    out = []
    for b in page.get_text("dict")["blocks"]:
        for ln in b.get("lines", []):
            spans = [s for s in ln["spans"] if s["text"].strip()]
            if not spans:
                continue
            vertical = abs(ln["dir"][1]) > 0.5
            groups: list[list[dict]] = [[spans[0]]]
            for s in spans[1:]:
                prev = groups[-1][-1]
                gap = (prev["bbox"][1] - s["bbox"][3]) if vertical else (s["bbox"][0] - prev["bbox"][2])
                if gap > 1.5 * s["size"]:
                    groups.append([s])
                else:
                    groups[-1].append(s)
            for grp in groups:
                box = g.box_of([p for s in grp for p in ((s["bbox"][0], s["bbox"][1]), (s["bbox"][2], s["bbox"][3]))])
                out.append(Line(_norm("".join(s["text"] for s in grp)), box, grp[0]["size"], vertical))
    return out


def assign_lines(lines: list[Line], truth) -> tuple[dict[str, list[Line]], list[Line]]:
    """Truth element id -> its label's lines (top to bottom / left to right), and the lines of no element.

    A line goes to the element whose label box (DI ``BPMNLabel``, else the shape) is nearest to it among those
    whose label holds the line's words in that order."""
    elems = [e for e in truth.shapes + truth.flows if e.label.strip()]
    owned: dict[str, list[Line]] = {}
    stray = []
    for ln in lines:
        best = None
        for e in elems:
            if not _within(ln.text, _norm(e.label)):
                continue
            region = e.label_box or e.box
            d = g.box_distance(ln.box, region)
            if d < 30 and (best is None or d < best[0]):
                best = (d, e)
        if best is None:
            stray.append(ln)
        else:
            owned.setdefault(best[1].id, []).append(ln)
    for k, v in owned.items():
        v.sort(key=lambda ln: (ln.box[0], -ln.box[3]) if ln.vertical else (ln.box[1], ln.box[0]))
    return owned, stray


LEADING = 1.15  # line pitch / font size (the English pages: 9 pt for 8 pt Arial)


def wrap(text: str, width: float, size: float, font) -> list[str] | None:
    """Greedy word wrap at spaces only (no word is broken); None when a word is wider than ``width``."""
    lines, cur = [], ""
    for w in text.split():
        if font.text_length(w, size) > width:
            return None
        t = f"{cur} {w}" if cur else w
        if font.text_length(t, size) <= width:
            cur = t
        else:
            lines.append(cur)
            cur = w
    return lines + [cur]


def _overlap(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def layout(text: str, lines: list[Line], anchor: str, limit, obstacles: list, font):
    """Where the Russian ``text`` goes: ``(size, wrapped lines, block box)``.

    The block keeps the English lines' centre along the reading direction (their left edge for ``anchor`` =
    ``"left"``), and across it their centre, top (``"top"``: a label under its shape grows downwards) or
    bottom. Widths from the English one up to twice it (the shape's inside for ``limit``); the original size
    first, smaller only if nothing fits. A block clear of ``obstacles`` (other labels) is preferred."""
    vertical = lines[0].vertical
    box = g.box_of([p for ln in lines for p in ((ln.box[0], ln.box[1]), (ln.box[2], ln.box[3]))])
    size0 = max(ln.size for ln in lines)
    along = g.height(box) if vertical else g.width(box)
    room = None if limit is None else (g.height(limit) if vertical else g.width(limit)) - 4
    cands = []
    for size in (size0, 0.9 * size0, 0.8 * size0, 0.7 * size0):
        fs = (1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5) if limit is not None or anchor == "left" else \
            (0.6, 0.8, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
        widths = [along * f for f in fs]
        if room is not None:
            widths = sorted({min(w, room) for w in widths} | ({room} if room > along else set()))
        for w in widths:
            wrapped = wrap(text, w, size, font)
            if wrapped is None:
                continue
            ln_w = max(font.text_length(t, size) for t in wrapped)
            depth = len(wrapped) * LEADING * size
            if vertical:
                cx, cy = g.center(box)
                blk = (cx - depth / 2, cy - ln_w / 2, cx + depth / 2, cy + ln_w / 2)
            else:
                x0 = box[0] if anchor == "left" else g.center(box)[0] - ln_w / 2
                y0 = {"top": box[1], "left": box[1], "bottom": box[3] - depth}.get(
                    anchor, g.center(box)[1] - depth / 2)
                blk = (x0, y0, x0 + ln_w, y0 + depth)
            hit = sum(_overlap(blk, o) for o in obstacles)
            many = len(wrapped) > max(len(lines) + 1, 2)
            cands.append((hit, many, size, wrapped, blk))
        if any(c[0] == 0 and not c[1] for c in cands):
            break
    if not cands:
        raise RuntimeError(f"{text!r} does not fit near {box}")
    if anchor == "left" and any(len(c[3]) <= len(lines) for c in cands):  # a header keeps its line count
        cands = [c for c in cands if len(c[3]) <= len(lines)]
    if any(c[0] == 0 for c in cands):
        best = min((c for c in cands if c[0] == 0), key=lambda c: (c[1], -c[2], len(c[3])))
    else:  # crowded: the least overlap (in 5 pt2 steps), then as above
        best = min(cands, key=lambda c: (round(c[0] / 5), c[1], -c[2], len(c[3])))
    return best[2], best[3], best[4]


def draw(page, wrapped: list[str], size: float, blk, vertical: bool, anchor: str, fontname: str, font) -> None:
    asc = font.ascender * size
    for i, t in enumerate(wrapped):
        n = font.text_length(t, size)
        if vertical:  # read bottom to top; the first line is the leftmost
            x = blk[0] + i * LEADING * size + asc
            y = (blk[1] + blk[3]) / 2 + n / 2
            page.insert_text((x, y), t, fontname=fontname, fontsize=size, rotate=90)
        else:
            x = blk[0] if anchor == "left" else (blk[0] + blk[2]) / 2 - n / 2
            page.insert_text((x, blk[1] + i * LEADING * size + asc), t, fontname=fontname, fontsize=size)


def make_twin(pdf: Path, bpmn: Path, transform, out_pdf: Path, out_bpmn: Path,
              glossary: dict[str, str]) -> dict:
    """Write the Russian twin of page 1 of ``pdf`` and of its truth; returns what was replaced."""
    import pymupdf
    from lxml import etree
    truth = parse_bpmn(bpmn, transform=transform)
    src = pymupdf.open(pdf)
    doc = pymupdf.open()
    doc.insert_pdf(src, from_page=0, to_page=0)
    page = doc[0]
    lines = text_lines(page)
    owned, stray = assign_lines(lines, truth)
    by_id = {e.id: e for e in truth.shapes + truth.flows}
    todo = []  # (russian, lines, limit, anchor)
    eid_of: list = []  # the element of each todo entry
    missing = sorted({by_id[k].label for k in owned if _norm(by_id[k].label) not in glossary})
    if missing:
        raise KeyError(f"{pdf.name}: no translation for {missing}")
    for eid, lns in owned.items():
        e = by_id[eid]
        inside = all(g.contains(e.box, ln.box, 2) for ln in lns) and e.type not in ("participant", "lane")
        expanded = e.type in ("subProcess", "callActivity", "transaction", "adHocSubProcess") \
            and "collapsed" not in e.markers and any(t is not e and g.contains(e.box, t.box, 2) for t in truth.shapes)
        limit = e.box if inside and not lns[0].vertical else None
        lb = g.box_of([p for ln in lns for p in ((ln.box[0], ln.box[1]), (ln.box[2], ln.box[3]))])
        if expanded and inside:
            anchor = "left"  # a sub-process's name at its top left corner
        elif inside or e.type in ("participant", "lane") or not e.waypoints and g.center(lb)[1] < e.box[3] \
                and g.center(lb)[1] > e.box[1] or e.waypoints:
            anchor = "centre"
        else:
            anchor = "top" if g.center(lb)[1] >= g.center(e.box)[1] else "bottom"
        todo.append((glossary[_norm(e.label)], lns, limit, anchor))
        eid_of.append(eid)
    for ln in stray:  # text of no scored label ("Group"): translated too when the glossary has it
        if ln.text in glossary:
            todo.append((glossary[ln.text], [ln], None, "centre"))
            eid_of.append(None)
    for _, lns, _, _ in todo:
        for ln in lns:
            b = ln.box
            pad = 0.2 * (g.width(b) if ln.vertical else g.height(b))  # across the line only
            rect = pymupdf.Rect(b[0] + pad, b[1], b[2] - pad, b[3]) if ln.vertical else \
                pymupdf.Rect(b[0], b[1] + pad, b[2], b[3] - pad)
            page.add_redact_annot(rect, fill=False)
    page.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_NONE, graphics=pymupdf.PDF_REDACT_LINE_ART_NONE)
    fontname = "dejavu"
    page.insert_font(fontname=fontname, fontfile=str(FONT))
    font = pymupdf.Font(fontfile=str(FONT))
    english = [g.box_of([p for ln in lns for p in ((ln.box[0], ln.box[1]), (ln.box[2], ln.box[3]))])
               for _, lns, _, _ in todo]
    blocks: list = []
    smaller = 0
    for k, (ru, lns, limit, anchor) in enumerate(todo):
        own = english[k]
        m = 0.5 * max(ln.size for ln in lns)  # a label does not touch another shape
        shapes = [g.expand(t.box, m) for t in truth.shapes if t.type not in ("participant", "lane", "group")
                  and not g.contains(t.box, own, 2) and g.box_distance(t.box, own) < 60 and t.id != eid_of[k]]
        # other labels with a margin (lines of two labels closer than about a word space would read as one)
        near = [b for j, b in enumerate(english) if j > k] + blocks
        m = 1.5 * max(ln.size for ln in lns)
        obstacles = [(b[0] - m, b[1] - m / 3, b[2] + m, b[3] + m / 3) for b in near] + shapes
        size, wrapped, blk = layout(ru, lns, anchor, limit, obstacles, font)
        draw(page, wrapped, size, blk, lns[0].vertical, anchor, fontname, font)
        blocks.append(blk)
        smaller += size < max(ln.size for ln in lns) - 0.01
    left = [ln.text for ln in text_lines(page) if re.search("[A-Za-z]", ln.text)]
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    doc.save(out_pdf, garbage=3, deflate=True)
    # the truth: names (and annotation texts) translated, nothing else touched
    tree = etree.parse(str(bpmn))
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        name = el.get("name")
        if name is not None and _norm(name) in glossary:
            el.set("name", glossary[_norm(name)])
        if etree.QName(el).localname == "text" and etree.QName(el).namespace == MODEL_NS and el.text \
                and _norm(el.text) in glossary:
            el.text = glossary[_norm(el.text)]
    tree.write(str(out_bpmn), xml_declaration=True, encoding="UTF-8")
    labelled = [e for e in truth.shapes + truth.flows if e.label.strip()]
    return {"labels": len(labelled), "replaced": len(owned), "not_found": sorted(e.label for e in labelled
            if e.id not in owned), "left_english": left, "smaller": smaller}


# ---------------------------------------------------------------- scoring (bench/bpmn_eval.py's scorer)

def score_set(files: list[tuple[str, Path, Path, tuple]], raster: bool, cache: Path):
    """``(stem, pdf, bpmn, transform)`` -> per-mode totals and per-file scores, as bpmn_eval counts them."""
    import pymupdf
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector
    tot = {"vector": ev.Score(), "raster": ev.Score()}
    per_file, pairs = [], []
    for k, (stem, pdf, bpmn, tf) in enumerate(files):
        page = pymupdf.open(pdf)[0]
        truth = parse_bpmn(bpmn, transform=tf)
        pred = extract_vector(page, 1, ev._words(page))
        s = ev.score(pred, truth)
        tot["vector"].add(s)
        per_file.append((f"vector {stem}", s))
        pairs += [("vector", stem, a, b) for a, b in label_pairs(pred, truth)]
        if raster:
            png = ev._noisy_png(page, 150, k)  # noise seed: bpmn_eval's (the page's index in the set)
            words = ev.cached_ocr_words(png, 150, page.rect.width, page.rect.height, cache)
            pred = extract_raster(png, words, page_no=1, dpi=150)
            s = ev.score(pred, truth)
            tot["raster"].add(s)
            per_file.append((f"raster150 {stem}", s))
            pairs += [("raster", stem, a, b) for a, b in label_pairs(pred, truth)]
    return tot, per_file, pairs


def label_pairs(pred, truth) -> list[tuple[str, str]]:
    """(predicted, truth) labels of matched shapes whose normalised text differs: for the error listing.

    ``ev.score`` only counts; this listing matches shapes the way it does (class, IoU >= 0.5, best first)."""
    from pdf_ocr_pipeline.bpmn.model import eval_class
    ps = [e for e in pred.shapes if e.type not in ev.SKIP]
    ts = [e for e in truth.shapes if e.type not in ev.SKIP and e.label.strip()]
    cands = sorted(((g.iou(p.box, t.box), i, j) for i, p in enumerate(ps) for j, t in enumerate(ts)
                    if eval_class(p.type) == eval_class(t.type)), reverse=True)
    mp, mt, out = set(), set(), []
    for v, i, j in cands:
        if v < 0.5:
            break
        if i in mp or j in mt:
            continue
        mp.add(i)
        mt.add(j)
        if ev.norm_label(ps[i].label) != ev.norm_label(ts[j].label):
            out.append((ps[i].label, ts[j].label))
    return out


def figures(s: ev.Score) -> dict:
    return {"shapes_f1": s.prf(ev.SHAPE_CLASSES)[2], "flows_f1": s.prf(ev.FLOW_CLASSES)[2], "labels": s.labels,
            "exact": s.exact / s.labels if s.labels else float("nan"),
            "cer": s.cer_sum / s.labels if s.labels else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testdata", type=Path, default=ROOT.parent / "shared" / "testdata")
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/bpmn_russian"))
    ap.add_argument("--no-raster", action="store_true", help="vector path only (no OCR)")
    ap.add_argument("--errors", action="store_true", help="list the label mismatches")
    args = ap.parse_args(argv)
    ref = args.testdata / "miwg-reference"
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    glossary = load_glossary()
    en, ru = [], []
    for stem, tf in SET:
        info = make_twin(ref / f"{stem}.pdf", ref / f"{stem}.bpmn", tf, out / f"{stem}-ru.pdf",
                         out / f"{stem}-ru.bpmn", glossary)
        print(f"- twin {stem}: {info['replaced']}/{info['labels']} labels replaced, {info['smaller']} set smaller; "
              f"not found {info['not_found']}; English text left {info['left_english']}")
        en.append((stem, ref / f"{stem}.pdf", ref / f"{stem}.bpmn", tf))
        ru.append((stem, out / f"{stem}-ru.pdf", out / f"{stem}-ru.bpmn", tf))
    t0 = time.time()
    res = {}
    for lang, files in (("English", en), ("Russian", ru)):
        res[lang] = score_set(files, not args.no_raster, out)
    print(f"\nscored in {time.time() - t0:.0f} s\n")
    print("| set | shapes F1 EN / RU | flows F1 EN / RU | labels scored EN / RU | labels exact EN / RU | "
          "label CER EN / RU |\n|---|---|---|---|---|---|")
    modes = [("vector", "miwg vector (text layer), 7 pages")]
    if not args.no_raster:
        modes.append(("raster", "miwg rasterised 150 dpi + noise, Tesseract rus+eng words"))
    for mode, name in modes:
        a, b = figures(res["English"][0][mode]), figures(res["Russian"][0][mode])
        print(f"| {name} | {a['shapes_f1']:.3f} / {b['shapes_f1']:.3f} | {a['flows_f1']:.3f} / {b['flows_f1']:.3f} "
              f"| {a['labels']} / {b['labels']} | {a['exact']:.3f} / {b['exact']:.3f} "
              f"| {a['cer']:.3f} / {b['cer']:.3f} |")
    print()
    for (name, s_en), (_, s_ru) in zip(res["English"][1], res["Russian"][1]):
        print(f"- {name}: shapes {s_en.prf(ev.SHAPE_CLASSES)[2]:.3f} / {s_ru.prf(ev.SHAPE_CLASSES)[2]:.3f}, flows "
              f"{s_en.prf(ev.FLOW_CLASSES)[2]:.3f} / {s_ru.prf(ev.FLOW_CLASSES)[2]:.3f}, labels {s_en.exact}/"
              f"{s_en.labels} / {s_ru.exact}/{s_ru.labels}")
    if args.errors:
        for lang in ("English", "Russian"):
            print(f"\n{lang} label mismatches (matched shapes):")
            for mode, stem, p, t in res[lang][2]:
                print(f"  {mode} {stem}: {p!r} != {t!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
