"""Pages with their OCR blocks and BPMN elements drawn on them: for the CLI, the report, notebooks and the UI.

Boxes are PDF points in the displayed page's frame (origin top left), so a point maps to a pixel by
``image size / page size``. Element rows are read tolerantly: the ``bpmn_elements`` table may change, so a row
needs only ``type`` and a box (``x0, y0, x1, y1`` or ``box``); flows may carry ``waypoints`` as ``{x, y}`` dicts or
``[x, y]`` pairs. No Dagster here.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .errors import PipelineError

#: Colours (RGB) by BPMN element category; ``category()`` maps a BPMN type onto one of these keys.
ELEMENT_COLOURS: dict[str, tuple[int, int, int]] = {
    "task": (31, 119, 180),
    "subProcess": (23, 190, 207),
    "startEvent": (44, 160, 44),
    "endEvent": (214, 39, 40),
    "intermediateEvent": (255, 127, 14),
    "gateway": (188, 189, 34),
    "participant": (127, 127, 127),
    "lane": (170, 170, 170),
    "data": (148, 103, 189),
    "textAnnotation": (140, 86, 75),
    "sequenceFlow": (20, 20, 20),
    "messageFlow": (31, 119, 180),
    "association": (140, 140, 140),
    "other": (227, 119, 194),
}
#: Colours of OCR blocks by label (words, lines, model blocks); anything else uses ``"other"``.
BLOCK_COLOURS: dict[str, tuple[int, int, int]] = {
    "word": (0, 150, 200),
    "line": (0, 110, 160),
    "text": (0, 150, 200),
    "title": (230, 80, 0),
    "table": (120, 60, 200),
    "image": (200, 0, 120),
    "other": (0, 170, 120),
    "low confidence": (230, 0, 0),
}
#: Words and blocks whose confidence is below this are drawn in the ``"low confidence"`` colour.
LOW_CONFIDENCE = 0.5
_FLOW_CATEGORIES = ("sequenceFlow", "messageFlow", "association")
_EVENT_CATEGORIES = ("startEvent", "endEvent", "intermediateEvent")


class PageNotFoundError(PipelineError):
    """The document or page is not in the data directory's warehouse."""

    exit_code = 2
    hint = "run `pdf-ocr run` on the document first, or pick one of the known documents"

    def __init__(self, message: str, *, known: Sequence[str] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.known = list(known)


def category(bpmn_type: str | None) -> str:
    """The colour category of a BPMN 2.0 element type (``userTask`` -> ``task``, ``exclusiveGateway`` -> ``gateway``).

    Args:
        bpmn_type: a BPMN element name as in the XML, or anything else.

    Returns:
        A key of ``ELEMENT_COLOURS``.
    """
    t = str(bpmn_type or "")
    low = t.lower()
    if t in ELEMENT_COLOURS and t != "other":
        return t
    if low.endswith("task") or low == "callactivity":
        return "task"
    if low in ("subprocess", "transaction", "adhocsubprocess"):
        return "subProcess"
    if low.endswith("gateway"):
        return "gateway"
    if low in ("intermediatecatchevent", "intermediatethrowevent", "boundaryevent") or low.startswith("intermediate"):
        return "intermediateEvent"
    if low.startswith("data") and low.endswith("association"):
        return "association"
    if low.startswith("data"):
        return "data"
    if low in ("pool", "participant"):
        return "participant"
    if low == "group":
        return "lane"
    return "other"


def draw_page(png: bytes | Image.Image, width_pt: float, height_pt: float, blocks: Iterable[Mapping] | None = (),
              elements: Iterable[Mapping] | None = None, *, legend: bool = True,
              block_alpha: int = 70) -> Image.Image:
    """Draw OCR blocks and BPMN elements on a rendered page.

    Args:
        png: the rendered page (``rendered_pages.png``) or an open image.
        width_pt: displayed page width in points (``rendered_pages.width_pt``).
        height_pt: displayed page height in points.
        blocks: ``ocr_pages.blocks`` entries (``label``, ``x0``..``y1``, ``confidence``); translucent boxes coloured
            by label, red where the confidence is below ``LOW_CONFIDENCE``.
        elements: ``bpmn_elements`` rows; shapes outlined by type (ellipses for events, diamonds for gateways),
            flows as arrows along their waypoints. ``None`` or empty draws none.
        legend: add a strip below the page naming each colour that is used, with counts.
        block_alpha: opacity 0..255 of the block fill.

    Returns:
        A new RGB image, the page's pixel size plus the legend strip.
    """
    image, used = _draw(png, width_pt, height_pt, blocks, elements, block_alpha)
    return _with_legend(image, used) if legend and used else image


def _draw(png, width_pt, height_pt, blocks, elements, block_alpha: int = 70) -> tuple[Image.Image, Counter]:
    page = (png.copy() if isinstance(png, Image.Image) else Image.open(io.BytesIO(png))).convert("RGBA")
    sx = page.width / float(width_pt) if width_pt else 1.0
    sy = page.height / float(height_pt) if height_pt else 1.0
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    line_w = max(1, round(min(page.size) / 700))
    used: Counter[tuple[str, str]] = Counter()

    for block in blocks or ():
        box = _box(block)
        if box is None:
            continue
        label = str(block.get("label") or "other")
        key = label if label in BLOCK_COLOURS else "other"
        confidence = block.get("confidence")
        if confidence is not None and math.isfinite(confidence) and confidence < LOW_CONFIDENCE:
            key = "low confidence"
        rgb = BLOCK_COLOURS[key]
        draw.rectangle(_scale(box, sx, sy), fill=(*rgb, block_alpha), outline=(*rgb, 200), width=1)
        used[("block", key)] += 1

    rows = [e for e in elements or () if isinstance(e, Mapping)]
    # Containers first, so pools and lanes never hide what they hold; flows last, on top.
    rows.sort(key=lambda e: (category(e.get("type")) not in ("participant", "lane"),
                             category(e.get("type")) in _FLOW_CATEGORIES))
    for element in rows:
        cat = category(element.get("type"))
        rgb = ELEMENT_COLOURS[cat]
        if cat in _FLOW_CATEGORIES:
            points = [(x * sx, y * sy) for x, y in _waypoints(element.get("waypoints"))]
            if len(points) < 2:
                continue
            _polyline(draw, points, (*rgb, 255), line_w * 2, dashed=cat != "sequenceFlow")
            _arrowhead(draw, points[-2], points[-1], (*rgb, 255), size=6 * line_w + 4)
        else:
            box = _box(element)
            if box is None:
                continue
            x0, y0, x1, y1 = _scale(box, sx, sy)
            width = line_w if cat in ("participant", "lane") else line_w * 3
            if cat in _EVENT_CATEGORIES:
                draw.ellipse((x0, y0, x1, y1), outline=(*rgb, 255), fill=(*rgb, 40), width=width)
            elif cat == "gateway":
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], outline=(*rgb, 255), fill=(*rgb, 40),
                             width=width)
            elif cat in ("participant", "lane"):
                draw.rectangle((x0, y0, x1, y1), outline=(*rgb, 255), width=width)
            else:
                draw.rectangle((x0, y0, x1, y1), outline=(*rgb, 255), fill=(*rgb, 40), width=width)
        used[("element", cat)] += 1

    return Image.alpha_composite(page, layer).convert("RGB"), used


def thumbnail(png: bytes | Image.Image, width_pt: float, height_pt: float, blocks: Iterable[Mapping] | None = (),
              elements: Iterable[Mapping] | None = None, *, max_side: int = 480, colours: int = 64) -> bytes:
    """A small PNG of the page with its blocks and elements, for metadata and reports.

    Args:
        png, width_pt, height_pt, blocks, elements: as for ``draw_page``.
        max_side: the longer side of the result in pixels (the page is drawn at full size, then shrunk).
        colours: palette size for a compact PNG; 0 keeps full RGB.

    Returns:
        PNG bytes, typically 30-120 kB at the default size.
    """
    image, used = _draw(png, width_pt, height_pt, blocks, elements)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if used:  # the legend is drawn at the small size, so it stays readable
        image = _with_legend(image, used)
    if colours:
        image = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def data_uri(png: bytes, mime: str = "image/png") -> str:
    """A ``data:`` URI of image bytes (for HTML ``src`` and markdown images)."""
    return f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"


def thumbnail_markdown(png: bytes, alt: str = "page with OCR blocks and BPMN elements") -> str:
    """Markdown that shows an image inline where the Dagster UI renders ``MetadataValue.md``.

    The UI's markdown renderer (``ui-core/src/ui/MarkdownWithPlugins.tsx``, sanitised with ``rehype-sanitize``)
    adds ``data`` to the allowed ``src`` protocols and the webserver's CSP sets no ``img-src``, so a base64
    ``data:image/png`` image renders (tests/test_browser.py checks this in a real UI). Keep the image small
    (``thumbnail()``): the event log stores it.

    Args:
        png: PNG bytes, e.g. from ``thumbnail()``.
        alt: the alternative text; brackets are removed so the markdown stays well formed.

    Returns:
        ``![alt](data:image/png;base64,...)``; wrap it in ``dg.MetadataValue.md``.
    """
    clean = "".join(ch for ch in alt if ch not in "[]\\\n\r")
    return f"![{clean}]({data_uri(png)})"


def show_page(data_dir: str | os.PathLike, doc_id: str, page_no: int, *, blocks: bool = True,
              elements: bool = True) -> Image.Image:
    """Read one page of the warehouse and draw its OCR blocks and (if the table exists) BPMN elements.

    Args:
        data_dir: the pipeline's data directory (tables under ``<data_dir>/warehouse``).
        doc_id: the document's partition key.
        page_no: 1-based page number.
        blocks: draw ``ocr_pages`` blocks when that table has the page.
        elements: draw ``bpmn_elements`` rows of the page when that table exists.

    Returns:
        The drawn page (``draw_page``).

    Raises:
        PageNotFoundError: the document has no rendered pages, or not this page (``known`` lists what there is).
    """
    page = load_page(data_dir, doc_id, page_no)
    return draw_page(page["png"], page["width_pt"], page["height_pt"], page["blocks"] if blocks else (),
                     page["elements"] if elements else None)


def page_thumbnail(data_dir: str | os.PathLike, doc_id: str, page_no: int | None = None, *,
                   max_side: int = 480) -> bytes | None:
    """A thumbnail of one page of the warehouse, for an asset's metadata (``thumbnail_markdown``).

    Args:
        data_dir: the pipeline's data directory.
        doc_id: the document's partition key.
        page_no: the page; ``None`` picks the first page with BPMN elements, else page 1.
        max_side: the longer side in pixels.

    Returns:
        PNG bytes, or ``None`` when the page is not rendered (a failed document); never raises for that.
    """
    import polars as pl

    try:
        if page_no is None:
            elements = table_path(Path(data_dir) / "warehouse", "bpmn_elements", doc_id)
            pages = pl.read_parquet(elements, columns=["page_no"])["page_no"] if elements.is_file() else None
            page_no = int(pages.min()) if pages is not None and pages.len() else 1
        page = load_page(data_dir, doc_id, page_no)
    except PageNotFoundError:
        return None
    return thumbnail(page["png"], page["width_pt"], page["height_pt"], page["blocks"], page["elements"],
                     max_side=max_side)


def load_page(data_dir: str | os.PathLike, doc_id: str, page_no: int) -> dict:
    """The rendered image, size, OCR blocks and BPMN elements of one page, read from the warehouse.

    Args:
        data_dir: the pipeline's data directory.
        doc_id: the document's partition key.
        page_no: 1-based page number.

    Returns:
        ``{"png", "width_pt", "height_pt", "blocks", "elements"}``; lists are empty where a table is missing.

    Raises:
        PageNotFoundError: unknown document or page.
    """
    import polars as pl

    warehouse = Path(data_dir) / "warehouse"
    rendered = table_path(warehouse, "rendered_pages", doc_id)
    if not rendered.is_file():
        known = list_documents(data_dir)
        raise PageNotFoundError(f"no document {doc_id!r} in {warehouse}", known=known)
    # Pages without an error are rendered, or read from their text layer (drawn from the PDF). Only the page's
    # own row group is read for its image: the whole png column of a scanned document is hundreds of MiB.
    frame = pl.read_parquet(rendered, columns=["page_no", "error"])
    pages = sorted(frame.filter(pl.col("error").is_null())["page_no"].to_list())
    if page_no not in pages:
        raise PageNotFoundError(f"document {doc_id!r} has no rendered page {page_no} (pages: {_ranges(pages)})",
                                known=[doc_id], hint="pick a page number from the list")
    row = (pl.scan_parquet(rendered).filter(pl.col("page_no") == page_no)
           .select("png", "width_pt", "height_pt", "dpi").collect().row(0, named=True))
    png = row["png"]
    if (row["dpi"] or 0) < SHARP_DPI:  # a text-layer page (no image, or a preview): render it from the PDF
        png = _render_sharper(warehouse, doc_id, page_no) or png
    if png is None:
        raise PageNotFoundError(f"document {doc_id!r} page {page_no} was read from its text layer and not rendered, "
                                "and its PDF cannot be read any more", known=[doc_id],
                                hint="put the file back where raw_pdfs.path says, or re-run the document")
    return {"png": png, "width_pt": row["width_pt"], "height_pt": row["height_pt"],
            "blocks": _page_rows(warehouse, "ocr_pages", doc_id, page_no, explode="blocks"),
            "elements": _page_rows(warehouse, "bpmn_elements", doc_id, page_no)}


#: Pages stored without an image or at a lower resolution (pages read from their text layer) are rendered at this
#: resolution for drawing, from the PDF, while it is still where ``raw_pdfs`` says.
SHARP_DPI = 150


def _render_sharper(warehouse: Path, doc_id: str, page_no: int) -> bytes | None:
    import polars as pl

    from .pdf.render import render_document

    try:
        path = pl.read_parquet(table_path(warehouse, "raw_pdfs", doc_id), columns=["path"])["path"][0]
        [page] = render_document(path, dpi=SHARP_DPI, pages=[page_no])
        return page.png
    except Exception:  # the file moved or broke since: the stored preview (if any) will do
        return None


def list_documents(data_dir: str | os.PathLike) -> list[str]:
    """Documents that have rendered pages under ``<data_dir>/warehouse``, sorted."""
    folder = Path(data_dir) / "warehouse" / "rendered_pages"
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []


def table_path(warehouse: str | os.PathLike, table: str, doc_id: str) -> Path:
    """``<warehouse>/<table>/<doc_id>.parquet``, by the storage module's rules (unsafe keys refused).

    Raises:
        PageNotFoundError: the key cannot name a document.
    """
    from .storage import Warehouse

    try:
        return Warehouse(warehouse).path(table, doc_id)
    except ValueError as e:
        raise PageNotFoundError(f"not a document key: {doc_id!r}") from e


def _page_rows(warehouse: Path, table: str, doc_id: str, page_no: int, explode: str | None = None) -> list[dict]:
    import polars as pl

    path = table_path(warehouse, table, doc_id)
    if not path.is_file():
        return []
    frame = pl.scan_parquet(path)
    if "page_no" not in frame.collect_schema().names():
        return []
    frame = frame.filter(pl.col("page_no") == page_no)
    if explode:
        rows = frame.select(explode).collect()
        return [b for blocks in rows[explode].to_list() for b in (blocks or []) if b]
    return frame.collect().to_dicts()


def _box(row: Mapping) -> tuple[float, float, float, float] | None:
    try:
        if row.get("x0") is not None:
            box = (row["x0"], row["y0"], row["x1"], row["y1"])
        elif row.get("box") is not None:
            box = tuple(row["box"])[:4]
        else:
            return None
        x0, y0, x1, y1 = (float(v) for v in box)
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return None
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _waypoints(raw) -> list[tuple[float, float]]:
    points = []
    for p in raw if raw is not None else ():
        try:
            x, y = (p["x"], p["y"]) if isinstance(p, Mapping) else (p[0], p[1])
            x, y = float(x), float(y)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            points.append((x, y))
    return points


def _scale(box, sx: float, sy: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return x0 * sx, y0 * sy, max(x1 * sx, x0 * sx + 1), max(y1 * sy, y0 * sy + 1)


def _polyline(draw: ImageDraw.ImageDraw, points, fill, width: int, dashed: bool) -> None:
    if not dashed:
        draw.line(points, fill=fill, width=width, joint="curve")
        return
    dash = 4 * width + 4
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        length = math.hypot(bx - ax, by - ay)
        steps = max(1, int(length // dash))
        for i in range(0, steps, 2):
            t0, t1 = i / steps, min(1.0, (i + 1) / steps)
            draw.line([(ax + (bx - ax) * t0, ay + (by - ay) * t0), (ax + (bx - ax) * t1, ay + (by - ay) * t1)],
                      fill=fill, width=width)


def _arrowhead(draw: ImageDraw.ImageDraw, tail, tip, fill, size: float) -> None:
    angle = math.atan2(tip[1] - tail[1], tip[0] - tail[0])
    left = (tip[0] - size * math.cos(angle - 0.45), tip[1] - size * math.sin(angle - 0.45))
    right = (tip[0] - size * math.cos(angle + 0.45), tip[1] - size * math.sin(angle + 0.45))
    draw.polygon([tip, left, right], fill=fill)


def _with_legend(image: Image.Image, used: Counter) -> Image.Image:
    font_size = max(11, image.width // 70)
    font = ImageFont.load_default(font_size)
    entries = []
    for (kind, key), n in sorted(used.items(), key=lambda kv: (kv[0][0] != "element", kv[0][1])):
        rgb = (ELEMENT_COLOURS if kind == "element" else BLOCK_COLOURS)[key]
        name = key if kind == "element" else ("ocr " + key if key != "low confidence" else "low-confidence word")
        entries.append((rgb, f"{name} ({n})"))
    pad, swatch = font_size // 2, font_size
    probe = ImageDraw.Draw(image)
    widths = [swatch + pad + int(probe.textlength(text, font=font)) + 2 * pad for _, text in entries]
    lines, x = 1, pad
    for w in widths:
        if x + w > image.width and x > pad:
            lines, x = lines + 1, pad
        x += w
    line_h = font_size + pad
    out = Image.new("RGB", (image.width, image.height + lines * line_h + pad), "white")
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    draw.line([(0, image.height), (image.width, image.height)], fill=(200, 200, 200), width=1)
    x, y = pad, image.height + pad // 2 + 1
    for (rgb, text), w in zip(entries, widths):
        if x + w > image.width and x > pad:
            x, y = pad, y + line_h
        draw.rectangle((x, y + 2, x + swatch, y + swatch), fill=rgb)
        draw.text((x + swatch + pad, y), text, fill=(30, 30, 30), font=font)
        x += w
    return out


def _ranges(numbers: Sequence[int]) -> str:
    if not numbers:
        return "none"
    parts, start, prev = [], numbers[0], numbers[0]
    for n in list(numbers[1:]) + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)
