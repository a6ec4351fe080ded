"""Training crops: a page scaled, maybe rotated, cropped and made to look scanned or photographed (numpy + cv2).

Every draw comes from the ``random.Random`` passed in, so a crop is reproducible from its seed. The geometry
moves the objects with the pixels (boxes become the extent of their moved corners, flow ends move as points).
"""

from __future__ import annotations

import math
import random

import numpy as np

from pdf_ocr_pipeline.bpmn.raster.detector.spec import WORKING_LONG_SIDE

#: crops are this many px square (the network is fully convolutional: inference takes whole pages)
CROP = 512
#: the page's long side is scaled to this share of ``WORKING_LONG_SIDE`` (inference sees pictures at 1.0; pages
#: of a scan at 1.2 px/pt, diagrams that fill less of the page come smaller)
SCALE_RANGE = (0.55, 1.2)
#: rotation of scans and photos, degrees (the corpus rotates scans up to 2; photos are taken askew)
MAX_ANGLE = 3.0
#: share of crops that hold the whole page shrunk to fit (long side ``WHOLE_PAGE_RANGE`` x the crop): pools, lanes
#: and long flows are wider than a detail crop, so only these show them whole (the runtime's coarse pass reads
#: them). 0 for the committed model; 0.4 in a 7-epoch CPU fine-tune still found no pool (BENCHMARKS.md)
WHOLE_PAGE_SHARE = 0.0
WHOLE_PAGE_RANGE = (0.55, 1.0)


def _affine(objects: list[dict], m: np.ndarray) -> list[dict]:
    out = []
    for o in objects:
        x0, y0, x1, y1 = o["box"]
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64) @ m.T
        n = dict(o, box=(float(corners[:, 0].min()), float(corners[:, 1].min()),
                         float(corners[:, 0].max()), float(corners[:, 1].max())))
        for key in ("tail", "head"):
            if o.get(key) is not None:
                px, py = o[key]
                n[key] = (float(m[0, 0] * px + m[0, 1] * py + m[0, 2]), float(m[1, 0] * px + m[1, 1] * py + m[1, 2]))
        out.append(n)
    return out


def _photometric(img: np.ndarray, rnd: random.Random) -> np.ndarray:
    import cv2
    f = img.astype(np.float32) / 255.0
    h, w = f.shape
    if rnd.random() < 0.5:  # uneven light: a plane across the page
        gx, gy = rnd.uniform(-0.25, 0.25), rnd.uniform(-0.25, 0.25)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        f = f * (1.0 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5))
    if rnd.random() < 0.6:  # contrast and paper tone: ink lighter, paper darker
        ink, paper = rnd.uniform(0.0, 0.45), rnd.uniform(0.75, 1.0)
        f = ink + (paper - ink) * f
    if rnd.random() < 0.3:
        f = np.power(np.clip(f, 0, 1), rnd.uniform(0.6, 1.6))
    if rnd.random() < 0.35:
        k = rnd.choice((3, 5))
        f = cv2.GaussianBlur(f, (k, k), rnd.uniform(0.4, 1.2))
    if rnd.random() < 0.4:
        noise = np.random.default_rng(rnd.randrange(2 ** 32)).normal(0, rnd.uniform(0.01, 0.07), f.shape)
        f = f + noise.astype(np.float32)
    out = np.clip(f * 255.0, 0, 255).astype(np.uint8)
    if rnd.random() < 0.4:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rnd.randint(35, 90)])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def training_crop(img: np.ndarray, objects: list[dict], rnd: random.Random, crop: int = CROP,
                  photometric: bool = True, whole_page_share: float = WHOLE_PAGE_SHARE
                  ) -> tuple[np.ndarray, list[dict]]:
    """A ``crop`` x ``crop`` grey crop of ``img`` (uint8, any size) and its objects in crop pixels.

    A share ``whole_page_share`` of crops hold the whole page shrunk into the window; the others scale the page
    so that its long side is ``SCALE_RANGE`` x ``WORKING_LONG_SIDE`` and take a window around a random object (or
    anywhere). Half are rotated by up to ``MAX_ANGLE`` degrees; white fills what lies outside the page. Objects
    whose centre leaves the window are dropped; the others keep boxes that may reach past it (the network learns
    the whole extent).
    """
    import cv2
    h, w = img.shape[:2]
    whole = whole_page_share > 0 and rnd.random() < whole_page_share  # no draw at 0: the committed run's crops
    s = (rnd.uniform(*WHOLE_PAGE_RANGE) * crop if whole else rnd.uniform(*SCALE_RANGE) * WORKING_LONG_SIDE) / max(h, w)
    a = rnd.uniform(-MAX_ANGLE, MAX_ANGLE) if rnd.random() < 0.5 else 0.0
    # the window's centre, in page pixels: the page's (whole), else on an object most of the time, so crops are
    # rarely empty paper
    if whole:
        px, py = w / 2 + rnd.uniform(-0.1, 0.1) * crop / s, h / 2 + rnd.uniform(-0.1, 0.1) * crop / s
    elif objects and rnd.random() < 0.8:
        o = rnd.choice(objects)
        px, py = (o["box"][0] + o["box"][2]) / 2, (o["box"][1] + o["box"][3]) / 2
        px += rnd.uniform(-0.4, 0.4) * crop / s
        py += rnd.uniform(-0.4, 0.4) * crop / s
    else:
        px, py = rnd.uniform(0, w), rnd.uniform(0, h)
    if whole and s < 0.8:  # shrink with area averaging first: a warp's bilinear sampling drops thin lines
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        objects = _affine(objects, np.array([[s, 0.0, 0.0], [0.0, s, 0.0]]))
        px, py, s = px * s, py * s, 1.0
    # page -> crop: scale and rotate about (px, py), which lands on the crop's centre
    c, si = math.cos(math.radians(a)) * s, math.sin(math.radians(a)) * s
    m = np.array([[c, si, crop / 2 - c * px - si * py], [-si, c, crop / 2 + si * px - c * py]], np.float64)
    out = cv2.warpAffine(img, m, (crop, crop), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    moved = []
    for o in _affine(objects, m):
        cx, cy = (o["box"][0] + o["box"][2]) / 2, (o["box"][1] + o["box"][3]) / 2
        if 0 <= cx < crop and 0 <= cy < crop:
            moved.append(o)
    if photometric:
        out = _photometric(out, rnd)
    return out, moved

