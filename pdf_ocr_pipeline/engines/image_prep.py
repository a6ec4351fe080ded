"""Page images resized to exactly what DeepSeek-OCR consumes, prepared in worker processes ahead of the GPU.

vLLM's DeepSeek-OCR front end resizes every page (a 150 dpi A4 page: 94 ms in one process, the measured
bottleneck). Handing it an image already at the size it would resize to makes its resizes copies:

- ``gundam`` (vLLM's stock mode): the page stretched to the tile grid vLLM would pick (640 x a, 640 x b), so
  the tiles are cut without resampling.
- ``base``: the page fitted into 1024 x 1024 and letterboxed (centred, mean-grey border), as DeepSeek-OCR's own
  base mode does; ``content`` says where the page lies in the square.

Either way the model's boxes (0-999) refer to the page, not to the padded square (see ``grounding``).

Pure PIL, no vLLM or torch: runs in ``ProcessPoolExecutor`` workers.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from PIL import Image

TILE = 640
BASE = 1024
MIN_CROPS, MAX_CROPS = 2, 6
PAD_RGB = (127, 127, 127)  # int(0.5 * 255): DeepSeek-OCR's image mean


@dataclass(frozen=True)
class Frame:
    """The image the model saw (pixels) and where the page lies in it (the letterbox of base mode)."""

    width: int
    height: int
    content: tuple[float, float, float, float]


@dataclass(frozen=True)
class PreparedImage:
    frame: Frame
    data: bytes  # raw RGB (``encoding == "raw"``) or an encoded file (png / jpeg)
    encoding: str
    prep_s: float

    def to_pil(self) -> Image.Image:
        if self.encoding == "raw":
            return Image.frombytes("RGB", (self.frame.width, self.frame.height), self.data)
        return Image.open(io.BytesIO(self.data)).convert("RGB")


def tile_grid(width: int, height: int, tile: int = TILE) -> tuple[int, int]:
    """The (columns, rows) of ``tile`` px tiles (640: DeepSeek-OCR, 768: DeepSeek-OCR-2) vLLM's Gundam mode cuts
    a ``width`` x ``height`` image into."""
    if width <= tile and height <= tile:
        return (1, 1)
    aspect = width / height
    ratios = sorted({(i, j) for n in range(MIN_CROPS, MAX_CROPS + 1) for i in range(1, n + 1)
                     for j in range(1, n + 1) if MIN_CROPS <= i * j <= MAX_CROPS}, key=lambda r: r[0] * r[1])
    best, best_diff = (1, 1), float("inf")
    for r in ratios:  # same tie rule as vLLM's find_closest_aspect_ratio
        diff = abs(aspect - r[0] / r[1])
        if diff < best_diff:
            best, best_diff = r, diff
        elif diff == best_diff and width * height > 0.5 * tile * tile * r[0] * r[1]:
            best = r
    return best


def image_tokens(frame: Frame, resolution: str) -> int:
    """Image tokens vLLM will put in the prompt for this frame (272 + 1 global, plus tiles in gundam)."""
    cols, rows = tile_grid(frame.width, frame.height) if resolution == "gundam" else (1, 1)
    local = (rows * 10) * (cols * 10 + 1) if cols * rows > 1 else 0
    return 16 * 17 + local + 1


def prepare(png: bytes, resolution: str = "base", encoding: str = "raw", *, tile: int = TILE) -> PreparedImage:
    """Decode a rendered page and resize it for the model. Runs in worker processes; pure function.

    Args:
        png: the rendered page (any format PIL reads).
        resolution: ``base`` or ``gundam``.
        encoding: ``raw`` (RGB bytes, for the in-process transport), ``png`` or ``jpeg`` (for servers).
        tile: gundam's tile size, the model family's (``families.ModelFamily.tile_size``).
    Returns:
        The prepared image and its frame.
    """
    started = time.perf_counter()
    with Image.open(io.BytesIO(png)) as src:
        img = src.convert("RGB")
    w, h = img.size
    if resolution == "gundam":
        cols, rows = tile_grid(w, h, tile)
        if (cols, rows) != (1, 1):
            img = img.resize((tile * cols, tile * rows), Image.Resampling.BICUBIC)
        frame = Frame(img.width, img.height, (0.0, 0.0, float(img.width), float(img.height)))
    elif resolution == "base":
        scale = BASE / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        canvas = Image.new("RGB", (BASE, BASE), PAD_RGB)
        x0, y0 = (BASE - nw) // 2, (BASE - nh) // 2
        canvas.paste(img.resize((nw, nh), Image.Resampling.BICUBIC) if (nw, nh) != (w, h) else img, (x0, y0))
        img = canvas
        frame = Frame(BASE, BASE, (float(x0), float(y0), float(x0 + nw), float(y0 + nh)))
    else:
        raise ValueError(f"unknown resolution {resolution!r}")
    if encoding == "raw":
        data = img.tobytes()
    elif encoding in ("png", "jpeg"):
        buf = io.BytesIO()
        img.save(buf, format=encoding.upper(), **({"compress_level": 1} if encoding == "png" else {"quality": 95}))
        data = buf.getvalue()
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    return PreparedImage(frame, data, encoding, time.perf_counter() - started)
