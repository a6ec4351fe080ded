"""DeepSeek-OCR's grounded output -> clean markdown and blocks with boxes in page points. Pure functions.

The model writes ``<|ref|>label<|/ref|><|det|>[[x1, y1, x2, y2], ...]<|/det|>`` before each block; boxes are
on a 0-999 scale of the ORIGINAL image, the page, in every resolution mode: DeepSeek-OCR's own scripts
(``run_dpsk_ocr_image.py``, ``draw_bounding_boxes``) scale them by the original image's width and height, not by
the padded view the model saw. ``image_prep`` hands vLLM the very pixels DeepSeek-OCR's processor would make from
the page, so the same convention holds here. With the document prompt the ref is a layout label (``text``,
``title``, ``table``, ``image``...) and the block's markdown follows; with ``OCR this image.`` the ref IS the text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .base import Block

_REF = re.compile(r"<\|ref\|>(?P<ref>.*?)<\|/ref\|>\s*<\|det\|>(?P<det>.*?)(?:<\|/det\|>|$)", re.S)
_BOX = re.compile(r"\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]")
_SPECIAL = re.compile(r"<\|(?:ref|/ref|det|/det|grounding)\|>|<｜end▁of▁sentence｜>|<｜begin▁of▁sentence｜>")
LAYOUT_LABELS = frozenset({
    "text", "title", "sub_title", "table", "table_caption", "table_footnote", "image", "image_caption",
    "figure", "figure_caption", "equation", "formula", "list", "header", "footer", "page_number", "footnote",
    "code", "reference", "abstract", "algorithm", "chart",
})
IMAGE_LABELS = frozenset({"image", "figure", "chart"})


def box_to_points(box: tuple[float, float, float, float], page_w_pt: float, page_h_pt: float,
                  ) -> tuple[float, float, float, float]:
    """A 0-999 box of the page -> PDF points of the displayed page (origin top left).

    Args:
        box: ``(x1, y1, x2, y2)`` on the 0-999 scale of the page image (padding of the model's view excluded).
        page_w_pt, page_h_pt: the displayed page's size in points (rotation applied).
    Returns:
        ``(x0, y0, x1, y1)`` in points, ordered and clamped to the page.
    """
    def x(v: float) -> float:
        return min(max(v / 999.0 * page_w_pt, 0.0), page_w_pt)

    def y(v: float) -> float:
        return min(max(v / 999.0 * page_h_pt, 0.0), page_h_pt)

    x0, x1 = sorted((x(box[0]), x(box[2])))
    y0, y1 = sorted((y(box[1]), y(box[3])))
    return (x0, y0, x1, y1)


def _boxes(det: str) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in m.groups()) for m in _BOX.finditer(det)]


def iter_refs(raw: str) -> Iterator[tuple[str, list[tuple[float, ...]], str]]:
    """``(ref, boxes, following text)`` for every grounded block, in order."""
    matches = list(_REF.finditer(raw))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(raw)
        yield m["ref"].strip(), _boxes(m["det"]), raw[m.end():end]


def parse_grounded(raw: str, *, page_w_pt: float, page_h_pt: float) -> tuple[str, tuple[Block, ...]]:
    """Parse one page's raw output into (clean markdown, blocks with boxes in points).

    A ref with several boxes gives one block per box. An image ref becomes ``![](image-K)`` in the markdown.
    A truncated last tag (output cut at max tokens) is parsed as far as it goes. Never raises.
    """
    blocks: list[Block] = []
    parts: list[str] = [raw[: m.start()] if (m := _REF.search(raw)) else raw]
    n_images = 0
    for ref, boxes, following in iter_refs(raw):
        body = _SPECIAL.sub("", following).strip()
        if ref in LAYOUT_LABELS:
            label, text = ref, body
        else:  # "OCR this image.": the ref holds the text itself
            label, text = "text", ref
            parts.append(ref)
        if label in IMAGE_LABELS:
            n_images += 1
            parts.append(f"![](image-{n_images})")
        for box in boxes:
            blocks.append(Block(label, text, *box_to_points(box, page_w_pt, page_h_pt)))
        if body:
            parts.append(body)
    markdown = "\n\n".join(p.strip() for p in (_SPECIAL.sub("", s) for s in parts) if p.strip())
    markdown = markdown.replace("\\coloneqq", ":=").replace("\\eqqcolon", "=:")
    return re.sub(r"\n{3,}", "\n\n", markdown).strip(), tuple(blocks)


def repetition_score(text: str, *, min_len: int = 8, tail: int = 2000) -> float:
    """The share of the output's tail covered by its most repeated line or phrase (0 = none, 1 = all).

    A runaway page (the model looping) ends with the same line or n-gram over and over.
    """
    text = text[-tail:]
    if len(text) < 4 * min_len:
        return 0.0
    best = _periodic_tail(text)
    lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) >= min_len]
    if lines:
        line, count = Counter(lines).most_common(1)[0]
        if count >= 4:
            best = count * len(line) / len(text)
    words = text.split()
    for n in (1, 2, 3, 4, 6, 8):  # short loops inside one long line: "и т.д. и т.д. и т.д."
        if len(words) < 4 * n:
            break
        grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
        gram, count = grams.most_common(1)[0]
        if count >= 6:
            best = max(best, min(1.0, count * n / len(words)))
    return best


def _periodic_tail(text: str, max_period: int = 300) -> float:
    """Share of ``text`` covered by one unit repeated back-to-back at its end (a loop with no line breaks,
    e.g. ``<tr><td>0</td></tr>`` over and over)."""
    best = 0.0
    for p in range(1, min(max_period, len(text) // 4) + 1):
        unit = text[-p:]
        if not text.endswith(unit * 4):
            continue
        reps = 4
        while (reps + 1) * p <= len(text) and text[-(reps + 1) * p:-reps * p] == unit:
            reps += 1
        best = max(best, reps * p / len(text))
    return best


def is_runaway(text: str, finish_reason: str | None, *, threshold: float = 0.5) -> bool:
    """A page the model did not finish properly: cut at max tokens, or dominated by a repetition loop."""
    return finish_reason == "length" or repetition_score(text) >= threshold
