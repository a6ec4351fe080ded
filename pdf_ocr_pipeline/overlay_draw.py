"""Drawing OCR blocks and BPMN elements on a page image: pure functions on images and rows, no files.

Boxes are PDF points in the displayed page's frame (origin top left), so a point maps to a pixel by
``image size / page size``. Element rows are read tolerantly: the ``bpmn_elements`` table may change, so a row
needs only ``type`` and a box (``x0, y0, x1, y1`` or ``box``); flows may carry ``waypoints`` as ``{x, y}`` dicts or
``[x, y]`` pairs. ``overlay`` reads pages from the warehouse and calls these.
"""

from __future__ import annotations

import base64
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping

from PIL import Image, ImageDraw, ImageFont

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
