"""A self-check of OCR settings on the user's own born-digital pages: their text layer is the true text. No Dagster.

``sample_pages`` picks pages whose text layer is usable and whose pictures hold no text (the reference would be
incomplete there), a few of each kind (``page_kind``); ``evaluate`` renders and OCRs them with each ``Setting``
and scores the OCR against the text layer (CER, WER); ``summarise`` and ``recommend`` condense the rows.
CER is the Levenshtein distance over the reference's length after ``normalise`` (``bench/ocr_quality.py``'s).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from rapidfuzz.distance import Levenshtein

KINDS = ("prose", "table", "title", "contents")
ENGINES = ("tesseract",)

#: A contents page has at least this many lines ending in a dot leader and a page number.
CONTENTS_MIN_LEADER_LINES = 5
#: A gap this wide between neighbouring words on a line separates table cells: wider than justified prose's
#: stretched spaces (a few points at 14 pt), narrower than a cell's padding and the next column's indent.
TABLE_CELL_GAP_PT = 18.0
#: A table has at least this many lines of three or more cells ...
TABLE_MIN_GRID_LINES = 4
#: ... making up at least this share of the page's lines (a page with one small table stays prose).
TABLE_MIN_GRID_SHARE = 0.3
#: Or it is ruled: at least this many horizontal and this many vertical lines drawn (cell borders).
TABLE_MIN_RULES = 4
#: A title page (a cover, a section title, an abstract's keywords) has fewer words than this ...
TITLE_MAX_WORDS = 60
#: ... or its type is this large (median span size, points): too little running text to count as prose.
TITLE_MIN_SIZE_PT = 20.0
#: Pages are rendered no larger than this (``pdf.render``'s default for the pipeline).
MAX_PIXELS = 40_000_000

_LEADER_LINE = re.compile(r"(?:\.\s*){5,}\d{1,4}\s*$")


def normalise(text: str) -> str:
    """Dot leaders dropped, whitespace collapsed to single spaces: layout differences are not OCR errors."""
    return re.sub(r"\s+", " ", re.sub(r"(?:\.\s*){3,}", " ", text)).strip()


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over the normalised reference's length (can exceed 1)."""
    ref = normalise(reference)
    hyp = normalise(hypothesis)
    return Levenshtein.distance(ref, hyp) / len(ref) if ref else float(bool(hyp))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: edit distance over words, over the normalised reference's word count."""
    ref = normalise(reference).split()
    hyp = normalise(hypothesis).split()
    return Levenshtein.distance(ref, hyp) / len(ref) if ref else float(bool(hyp))


def page_kind(page: pymupdf.Page) -> str:
    """The page's kind: "contents" (dot leaders), "table" (lines of cells), "title" (few words or large type),
    "table" again (ruled: drawn cell borders), else "prose". Checked in that order."""
    from .pdf.text import LINE_TOLERANCE, page_words

    words = page_words(page)
    lines: list[list] = []
    for w in words:  # reading order, line by line: a line ends where the next word is lower or back at the left
        if lines and abs(w.y1 - lines[-1][-1].y1) <= LINE_TOLERANCE and w.x0 >= lines[-1][-1].x1:
            lines[-1].append(w)
        else:
            lines.append([w])
    texts = [" ".join(w.text for w in line) for line in lines]
    if sum(1 for t in texts if _LEADER_LINE.search(t)) >= CONTENTS_MIN_LEADER_LINES:
        return "contents"
    grid = sum(1 for line in lines
               if sum(1 for a, b in zip(line, line[1:]) if b.x0 - a.x1 >= TABLE_CELL_GAP_PT) >= 2)
    if lines and grid >= TABLE_MIN_GRID_LINES and grid / len(lines) >= TABLE_MIN_GRID_SHARE:
        return "table"
    sizes = sorted(s["size"] for b in page.get_text("dict")["blocks"] if b["type"] == 0
                   for line in b["lines"] for s in line["spans"] if s["text"].strip())
    if len(words) < TITLE_MAX_WORDS or (sizes and sizes[len(sizes) // 2] >= TITLE_MIN_SIZE_PT):
        return "title"
    if _ruled(page):  # after the title test: a diagram's boxes and connectors are rules too, round few words
        return "table"
    return "prose"


def _ruled(page: pymupdf.Page) -> bool:
    """Whether the page draws enough horizontal and vertical rules to be a table's borders."""
    horizontal = vertical = 0
    for drawing in page.get_drawings():
        for item in drawing["items"]:
            if item[0] == "l":
                a, b = item[1], item[2]
                horizontal += abs(a.y - b.y) < 1 and abs(a.x - b.x) > 10
                vertical += abs(a.x - b.x) < 1 and abs(a.y - b.y) > 10
            elif item[0] == "re":  # a thin rectangle is a rule too
                r = item[1]
                horizontal += r.height < 2 and r.width > 10
                vertical += r.width < 2 and r.height > 10
    return horizontal >= TABLE_MIN_RULES and vertical >= TABLE_MIN_RULES


def sample_pages(pdf_paths: Iterable[str | os.PathLike], per_kind: int, seed: int,
                 languages: str = "rus+eng") -> list[tuple[Path, int, str]]:
    """Up to ``per_kind`` pages of each kind, drawn with ``random.Random(seed)``: the same inputs and seed give
    the same sample. Only pages whose text layer is usable (``inspect.text_layer_info``) and that have no picture
    that may hold text (``regions.picture_regions``) qualify. Returns ``(path, page_no, kind)`` in kind order,
    then path and page order.
    """
    from .pdf.inspect import open_pdf, text_layer_info
    from .pdf.regions import picture_regions

    candidates: dict[str, list[tuple[Path, int, str]]] = {kind: [] for kind in KINDS}
    for path in sorted(Path(p) for p in pdf_paths):
        with open_pdf(path) as doc:
            for page in doc:
                if text_layer_info(page, languages).usable and not picture_regions(page):
                    kind = page_kind(page)
                    candidates[kind].append((path, page.number + 1, kind))
    rng = random.Random(seed)
    out = []
    for kind in KINDS:
        pool = candidates[kind]
        out.extend(sorted(rng.sample(pool, min(per_kind, len(pool)))))
    return out


@dataclass(frozen=True)
class Setting:
    """One OCR setting to try: the engine and what it is given."""

    name: str
    engine: str = "tesseract"
    dpi: int = 200
    languages: str = "rus+eng"
    psm: int = 3


def evaluate(samples: list[tuple[Path, int, str]], settings: list[Setting]) -> list[dict]:
    """Render and OCR every sampled page with every setting; one row per (setting, page), scored against the text
    layer (``pdf.text.page_text``, in reading order as OCR reads). ``seconds``: the page's render plus OCR time
    on one worker.

    Raises:
        ValueError: a setting names an engine other than ``ENGINES``.
    """
    for s in settings:
        if s.engine not in ENGINES:
            raise ValueError(f"setting {s.name!r}: unknown engine {s.engine!r} (known: {', '.join(ENGINES)})")
    from .engines.tesseract import TesseractEngine, TesseractOptions

    rows = []
    for setting in settings:
        engine = TesseractEngine(TesseractOptions(languages=setting.languages, psm=setting.psm))
        renders: dict[tuple[str, int], tuple[str, float]] = {}  # (path, page) -> (reference, render seconds)
        try:
            for (path, page_no, kind), page in zip(samples, engine.ocr_pages(_images(samples, setting, renders))):
                reference, render_s = renders.pop((str(path), page_no))
                rows.append({
                    "setting": setting.name, "engine": setting.engine, "dpi": setting.dpi,
                    "languages": setting.languages, "psm": setting.psm, "path": str(path), "page_no": page_no,
                    "kind": kind, "ref_chars": len(normalise(reference)),
                    "ref_words": len(normalise(reference).split()),
                    "cer": cer(reference, page.text), "wer": wer(reference, page.text),
                    "seconds": render_s + page.latency_s, "error": page.error,
                })
        finally:
            engine.close()
    return rows


def _images(samples, setting: Setting, renders: dict) -> Iterator:
    """The sampled pages rendered at the setting's resolution, each page's reference text kept in ``renders``."""
    from .engines.base import PageImage
    from .pdf.inspect import open_pdf
    from .pdf.render import render_page
    from .pdf.text import page_text

    docs: dict[str, pymupdf.Document] = {}
    try:
        for path, page_no, _ in samples:
            if str(path) not in docs:
                docs[str(path)] = open_pdf(path)
            page = docs[str(path)][page_no - 1]
            r = render_page(page, setting.dpi, MAX_PIXELS, languages=setting.languages)
            renders[(str(path), page_no)] = (page_text(page), r.render_s)
            yield PageImage(str(path), page_no, r.png or b"", r.dpi or setting.dpi, r.width_pt, r.height_pt)
    finally:
        for doc in docs.values():
            doc.close()


def summarise(rows: list[dict]) -> list[dict]:
    """Per setting and kind, plus kind "all": pages, reference chars, CER (weighted by reference chars), WER
    (weighted by reference words), and pages/s on one worker (render plus OCR)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["setting"], row["kind"]), []).append(row)
        groups.setdefault((row["setting"], "all"), []).append(row)
    order = {kind: i for i, kind in enumerate((*KINDS, "all"))}
    out = []
    for (setting, kind), group in sorted(groups.items(), key=lambda kv: (kv[0][0], order[kv[0][1]])):
        chars = sum(r["ref_chars"] for r in group)
        words = sum(r["ref_words"] for r in group)
        seconds = sum(r["seconds"] for r in group)
        out.append({
            "setting": setting, "kind": kind, "pages": len(group), "ref_chars": chars,
            "cer": sum(r["cer"] * r["ref_chars"] for r in group) / chars if chars else 0.0,
            "wer": sum(r["wer"] * r["ref_words"] for r in group) / words if words else 0.0,
            "pages_per_s": len(group) / seconds if seconds else 0.0,
        })
    return out


def recommend(summary: list[dict]) -> str:
    """The setting with the lowest CER over all its pages (the faster on a tie), and why, in a sentence."""
    overall = [s for s in summary if s["kind"] == "all"]
    if not overall:
        return "No pages to judge by: no sampled page had a usable text layer without pictures."
    best = min(overall, key=lambda s: (round(s["cer"], 4), -s["pages_per_s"]))
    others = [s for s in overall if s is not best]
    why = f"the lowest CER, {best['cer']:.2%} over {best['pages']} pages, at {best['pages_per_s']:.2f} pages/s"
    if others:
        runner = min(others, key=lambda s: (round(s["cer"], 4), -s["pages_per_s"]))
        why += f" (next: {runner['setting']}, {runner['cer']:.2%} at {runner['pages_per_s']:.2f} pages/s)"
    return f"Recommended: {best['setting']}: {why}."


def format_summary(summary: list[dict]) -> str:
    """The summary as a text table, one line per setting and kind."""
    lines = [f"{'setting':24s} {'kind':9s} {'pages':>5s} {'chars':>7s} {'CER':>7s} {'WER':>7s} {'pages/s':>8s}"]
    for s in summary:
        lines.append(f"{s['setting']:24s} {s['kind']:9s} {s['pages']:5d} {s['ref_chars']:7d} {s['cer']:7.2%} "
                     f"{s['wer']:7.2%} {s['pages_per_s']:8.2f}")
    return "\n".join(lines)
