"""Documents as readable Markdown: one page at a time, then the document as a stream. No Dagster here.

A page's Markdown comes from the best layout the pipeline has for it:

* ``text_blocks`` (``text_layer_blocks``: a text-layer page's paragraphs and headings with boxes): headings as
  ``#`` lines, paragraphs in reading order, and the page's pictures (``figures``) and diagrams (``diagrams``)
  placed where a reader meets them. Text-layer words lying inside a picture or diagram go with it.
* otherwise the page's ``ocr_pages.text``: kept as it is when a model engine wrote it as Markdown, else its
  plain lines as paragraphs; pictures and diagrams follow it.

Nothing of ``text`` is lost: a line of it holding a word the page's Markdown lacks (say, a picture's text the
caller put in ``text`` but did not pass as a figure) is added at the end of the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pdf_ocr_pipeline.pdf.blocks import TextBlock, blocks_from_lines, text_layer_blocks

__all__ = ["MARKDOWN_ENGINES", "TextBlock", "blocks_from_lines", "document_markdown", "page_jsonl", "page_markdown",
           "split_pages", "text_layer_blocks"]

#: Engines whose page text is Markdown already (``ocr_pages.engine``; a ``fallback`` page is Tesseract's).
MARKDOWN_ENGINES = frozenset({"deepseek-vllm", "deepseek-transformers"})
#: A figure whose words are at least this share in the page's text (an OCR'd page read the picture with the
#: page) shows only its heading, not its text again.
FIGURE_TEXT_IN_PAGE = 0.8
#: Within a plain-text paragraph, a line at least this share of the paragraph's longest line is wrapped prose
#: and joins the next line; a shorter one (a list, a table row, an address) keeps its line break.
PROSE_LINE_SHARE = 0.6
#: ... in a paragraph whose longest line has at least this many characters (shorter lines are not prose).
PROSE_MIN_CHARS = 40
#: A box (a text block's centre) this close outside a picture still counts as inside it, in points.
INSIDE_TOLERANCE = 1.0

_WORD = re.compile(r"\w+")
_LEADERS = re.compile(r"(?:\s*\.){4,}\s*")
_BULLET = re.compile(r"^[•●▪◦‣∙■–—]\s+")  # list markers that Markdown does not know: made "- "
_MD_ITEM = re.compile(r"^(?:[-*+]|\d{1,9}[.)])\s")
_HTML_LIKE = re.compile(r"<(?=[A-Za-z/!?])")


@dataclass
class _Region:
    """A picture or a diagram on the page: where it is, its heading, its text, and the text blocks inside it."""

    box: tuple[float, float, float, float]
    heading: str
    body: str
    inner: list[str] = field(default_factory=list)


def page_markdown(page_no: int, text: str, source: str, text_blocks: Sequence[TextBlock] | None = None,
                  figures: Iterable[Mapping] = (), diagrams: Iterable[Mapping] = (), *,
                  engine: str | None = None, error: str | None = None) -> str:
    """One page as Markdown (no page marker: ``document_markdown`` adds those).

    Args:
        page_no: 1-based page number (named in the note of a page that could not be read).
        text: the page's ``ocr_pages.text``: plain text (text layer, Tesseract) or Markdown (model engines).
        source: ``ocr_pages.source``: ``text_layer`` | ``ocr`` | ``fallback`` | ``none``.
        text_blocks: the page's ``text_layer_blocks``; when given, they (not ``text``) give the page's layout.
        figures: pictures on the page, dicts with a box in points (``x0, y0, x1, y1`` or ``box``), ``kind``
            (diagram, chart, table, photo, logo, other) and ``text`` read from it (may be empty or Markdown).
        diagrams: diagrams on the page, dicts with a box and ``summary`` (``bpmn.summary.diagram_summary``).
        engine: ``ocr_pages.engine``; a page from a Markdown engine (``MARKDOWN_ENGINES``) keeps its text.
        error: ``ocr_pages.error``, shown for a page without text.

    Returns:
        The page's Markdown, without trailing newline; "" for an empty page.
    """
    regions = _regions(figures, diagrams)
    if text_blocks:
        parts = _laid_out(text_blocks, regions)
    else:
        if engine in MARKDOWN_ENGINES and source == "ocr":
            parts = _markdown_chunks(text)
        else:
            parts = _plain_paragraphs(text)
        parts = _with_regions_after_text(parts, regions)
    if not parts and error:
        parts = [f"*(page {page_no} could not be read: {' '.join(error.split())})*"]
    out = "\n\n".join(p for p in parts if p)
    missing = _missing_lines(text, out)
    if missing:
        out += ("\n\n" if out else "") + "<!-- text not placed above -->\n\n" + "\n\n".join(missing)
    return out


def document_markdown(title: str, pages: Iterable[str | tuple[int, str]]) -> Iterator[str]:
    """The document as Markdown, in chunks (one a page), so a long document never sits whole in memory.

    Args:
        title: the document's title (its file name when it has none), the one ``#`` heading on top.
        pages: each page's ``page_markdown``, in order; ``(page_no, markdown)`` pairs where pages may be missing,
            else numbered from 1.

    Yields:
        The title, then each page after a ``<!-- page N -->`` marker; joined, the ``.md`` file.
    """
    yield f"# {' '.join(title.split()) or 'Untitled'}\n"
    for i, page in enumerate(pages, 1):
        page_no, md = page if isinstance(page, tuple) else (i, page)
        md = md.strip()
        yield f"\n<!-- page {page_no} -->\n" + (f"\n{md}\n" if md else "")


_PAGE_MARKER = re.compile(r"^<!-- page (\d+) -->$", re.MULTILINE)


def split_pages(markdown: str) -> Iterator[tuple[int, str]]:
    """``(page_no, markdown)`` of each page of a ``document_markdown`` text, by its ``<!-- page N -->`` markers.

    >>> list(split_pages("# T\\n\\n<!-- page 1 -->\\n\\nOne\\n\\n<!-- page 2 -->\\n"))
    [(1, 'One'), (2, '')]
    """
    marks = list(_PAGE_MARKER.finditer(markdown))
    for mark, following in zip(marks, [*marks[1:], None]):
        yield int(mark.group(1)), markdown[mark.end():following.start() if following else len(markdown)].strip()


def page_jsonl(page_no: int, markdown: str, source: str | None, doc_id: str | None = None) -> str:
    """One page as a JSON Lines record (``page_no``, ``markdown``, ``source``; ``doc_id`` when given), with its
    newline; non-ASCII text (Cyrillic) kept as it is."""
    record = {"doc_id": doc_id} if doc_id is not None else {}
    record.update(page_no=page_no, markdown=markdown, source=source)
    return json.dumps(record, ensure_ascii=False) + "\n"


def _box(item: Mapping) -> tuple[float, float, float, float]:
    if item.get("box") is not None:
        return tuple(float(v) for v in item["box"])  # type: ignore[return-value]
    return (float(item["x0"]), float(item["y0"]), float(item["x1"]), float(item["y1"]))


def _regions(figures: Iterable[Mapping], diagrams: Iterable[Mapping]) -> list[_Region]:
    """Diagrams, then figures; a figure and a diagram mostly over each other (the picture a diagram was read
    from) are one region: the diagram's summary, the figure's words it lacks, the two boxes' union."""
    regions = [_Region(_box(d), "", (d.get("summary") or "").strip()) for d in diagrams]
    n_diagrams = len(regions)
    for f in figures:
        box, body = _box(f), (f.get("text") or "").strip()
        host = next((r for r in regions[:n_diagrams] if _overlap_share(box, r.box) >= 0.5), None)
        if host is not None:
            host.box = (min(box[0], host.box[0]), min(box[1], host.box[1]), max(box[2], host.box[2]),
                        max(box[3], host.box[3]))
            if body:
                host.inner.append(body)
            continue
        kind = f.get("kind") or "other"
        regions.append(_Region(box, f"**Figure ({kind})**", body))
    return sorted(regions, key=lambda r: (r.box[1], r.box[0]))


def _overlap_share(a, b) -> float:
    """The share of the smaller box's area that lies in the other box."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max(1e-6, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))
    return max(0.0, w) * max(0.0, h) / area


def _laid_out(blocks: Sequence[TextBlock], regions: list[_Region]) -> list[str]:
    """Blocks in order, each region before the first block that starts at or below its top (the rule of
    ``pdf.text.insert_in_reading_order``, which puts a picture's text into ``ocr_pages.text``)."""
    flow: list[TextBlock] = []
    for b in blocks:
        cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
        t = INSIDE_TOLERANCE
        host = next((r for r in regions if r.box[0] - t <= cx <= r.box[2] + t and r.box[1] - t <= cy <= r.box[3] + t),
                    None)
        if host is not None:
            host.inner.append(b.text)
        else:
            flow.append(b)
    parts: list[str] = []
    pending = list(regions)
    item = False  # the last part is a Markdown list, which the next list item joins
    for b in flow:
        while pending and b.y0 >= pending[0].box[1] - INSIDE_TOLERANCE:
            parts.append(_render_region(pending.pop(0)))
            item = False
        text = _render_block(b)
        if item and _MD_ITEM.match(text):
            parts[-1] += "\n" + text
        else:
            parts.append(text)
        item = bool(_MD_ITEM.match(text)) and b.role == "list_item"
    parts += [_render_region(r) for r in pending]
    return parts


def _render_block(b: TextBlock) -> str:
    text = _LEADERS.sub(" ... ", b.text).strip()
    if b.role == "heading" and b.level:
        return "#" * min(6, b.level) + " " + text
    if b.role == "furniture":  # a running header or footer (a page number): kept, but out of the reading
        return "<!-- running: " + text.replace("--", "- -") + " -->"  # never mistaken for a page marker
    if b.role == "list_item":
        text = _BULLET.sub("- ", text)
        return _HTML_LIKE.sub("&lt;", text) if _MD_ITEM.match(text) else _escape(text)
    return _escape(text)


def _render_region(r: _Region, text_in_page: bool = False) -> str:
    body = r.body
    extra = [t for t in r.inner if not _words(t) <= _words(body)]
    if extra:
        extra = [_escape(t) for t in extra]
        body = "\n\n".join([body, "*Other text in the picture:*"] + extra if body else extra)
    lines = [r.heading] if r.heading else []
    if text_in_page and r.heading:
        lines.append("*(its text follows)*")
    elif body:
        lines += ([""] if lines else []) + body.splitlines()
    return "\n".join("> " + ln if ln.strip() else ">" for ln in lines)


def _with_regions_after_text(parts: list[str], regions: list[_Region]) -> list[str]:
    """Pictures and diagrams for a page known only by its text: a figure whose words the text already holds
    (an OCR'd page read the picture too) is named before the first paragraph made mostly of them; the others
    follow the text."""
    page_words = _words("\n".join(parts))
    tail = []
    for r in regions:
        fig = _words(r.body)
        if r.heading and fig and len(fig & page_words) >= FIGURE_TEXT_IN_PAGE * len(fig):
            at = next((i for i, p in enumerate(parts) if len(_words(p) & fig) >= 0.5 * len(_words(p))), None)
            if at is not None:
                parts.insert(at, _render_region(r, text_in_page=True))
                continue
        tail.append(_render_region(r))
    return parts + tail


def _markdown_chunks(text: str) -> list[str]:
    """Model Markdown split at blank lines outside code fences, each chunk as it was."""
    chunks: list[list[str]] = [[]]
    fence = ""
    for line in text.strip().splitlines():
        mark = line.lstrip()[:3]
        if mark in ("```", "~~~"):
            fence = "" if fence == mark else (fence or mark)
        if not line.strip() and not fence:
            if chunks[-1]:
                chunks.append([])
        else:
            chunks[-1].append(line)
    return ["\n".join(c) for c in chunks if c]


def _plain_paragraphs(text: str) -> list[str]:
    """Plain text (blank lines between paragraphs) as Markdown paragraphs: wrapped prose lines joined."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = [_LEADERS.sub(" ... ", ln.strip()).strip() for ln in para.splitlines() if ln.strip()]
        if not lines:
            continue
        longest = max(len(ln) for ln in lines)
        joined = [_escape(lines[0])]
        for prev, ln in zip(lines, lines[1:]):
            broken = len(prev) > 1 and prev.endswith("-") and prev[-2].isalpha() and ln[:1].islower()
            if broken:
                joined[-1] += ln
            elif len(prev) >= PROSE_LINE_SHARE * longest and longest >= PROSE_MIN_CHARS:
                joined[-1] += " " + ln
            else:
                joined.append(_escape(ln))
        out.append("\n".join(joined))
    return out


def _escape(text: str) -> str:
    """Plain text that Markdown would read as markup at a line's start: headings, quotes, fences, rules."""
    text = _HTML_LIKE.sub("&lt;", text)
    if re.match(r"#|>|```|~~~|[=\-_*]{3,}\s*$", text):
        return "\\" + text
    return text


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text))


def _missing_lines(text: str, markdown: str) -> list[str]:
    """Lines of ``text`` holding a word that ``markdown`` lacks, escaped."""
    have = _words(markdown)
    return [_escape(ln.strip()) for ln in text.splitlines() if ln.strip() and not _words(ln) <= have]
