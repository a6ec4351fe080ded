"""Connector strokes from a binary image: thin the ink to one-pixel lines and trace them into polylines.

Pure numpy (plus OpenCV for labelling and polygon simplification): Zhang-Suen thinning, then each connected
piece of skeleton is walked as a graph; its longest path is one stroke, and the branches left once that path
is removed are strokes of their own (short spurs, such as the ones an arrowhead leaves, are dropped). Bends are
kept as vertices, so an elbow connector comes out as one polyline rather than separate straight segments.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def _luts() -> tuple[np.ndarray, np.ndarray]:
    """Zhang-Suen's deletion test for both sub-iterations, for every 8-neighbourhood code (bit i set when
    neighbour p2, p3, ..., p9 is ink, in that order)."""
    out = []
    for step in (0, 1):
        lut = np.zeros(256, bool)
        for code in range(256):
            p = [(code >> i) & 1 for i in range(8)]  # p2 .. p9
            p2, p3, p4, p5, p6, p7, p8, p9 = p
            b = sum(p)
            seq = p + [p2]
            a = sum(1 for i in range(8) if seq[i] == 0 and seq[i + 1] == 1)
            if step == 0:
                c, d = p2 * p4 * p6 == 0, p4 * p6 * p8 == 0
            else:
                c, d = p2 * p4 * p8 == 0, p2 * p6 * p8 == 0
            lut[code] = 2 <= b <= 6 and a == 1 and c and d
        out.append(lut)
    return out[0], out[1]


_LUT = _luts()


def thin(mask: np.ndarray, max_iter: int = 40) -> np.ndarray:
    """Zhang-Suen thinning of a boolean/0-255 mask; returns a uint8 0/1 skeleton. Each sub-iteration is
    one table look-up over the neighbourhood codes (the test itself is in ``_luts``)."""
    full = np.pad((np.asarray(mask) > 0).astype(np.uint8), 1)
    y0, x0, y1, x1 = 0, 0, full.shape[0], full.shape[1]
    for _ in range(max_iter):
        img = full[y0:y1, x0:x1]  # a view: only where the last pass deleted something can more go
        hit = []
        for step in (0, 1):
            nb = (img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:], img[2:, 1:-1], img[2:, :-2],
                  img[1:-1, :-2], img[:-2, :-2])
            code = np.zeros(nb[0].shape, np.uint8)
            for i, n in enumerate(nb):
                code |= n << i
            core = img[1:-1, 1:-1]
            rm = (core == 1) & _LUT[step][code]
            if rm.any():
                core[rm] = 0
                ys, xs = np.nonzero(rm)
                hit.append((ys.min(), xs.min(), ys.max(), xs.max()))
        if not hit:
            break
        # deleted pixels sat at (y0 + 1 + r, x0 + 1 + c); their neighbours are the ones to look at again
        y1 = min(full.shape[0], y0 + 1 + max(h[2] for h in hit) + 3)
        x1 = min(full.shape[1], x0 + 1 + max(h[3] for h in hit) + 3)
        y0 = max(0, y0 + 1 + min(h[0] for h in hit) - 2)
        x0 = max(0, x0 + 1 + min(h[1] for h in hit) - 2)
    return full[1:-1, 1:-1]


_NB = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _bfs(start, nodes: set, parent: dict | None = None):
    dist = {start: 0}
    q = deque([start])
    last = start
    while q:
        p = q.popleft()
        last = p
        y, x = p
        for dy, dx in _NB:
            n = (y + dy, x + dx)
            if n in nodes and n not in dist:
                dist[n] = dist[p] + 1
                if parent is not None:
                    parent[n] = p
                q.append(n)
    return last, dist


def _longest_path(nodes: set) -> list[tuple[int, int]]:
    """An approximately longest path (double BFS) through a connected set of pixels."""
    start = next(iter(nodes))
    a, _ = _bfs(start, nodes)
    parent: dict = {}
    b, _ = _bfs(a, nodes, parent)
    path = [b]
    while path[-1] != a:
        path.append(parent[path[-1]])
    return path


def _components(nodes: set) -> list[set]:
    out = []
    left = set(nodes)
    while left:
        s = left.pop()
        _, dist = _bfs(s, left | {s})
        comp = set(dist)
        left -= comp
        out.append(comp)
    return out


def trace_paths(skel: np.ndarray, min_len: int, spur: int) -> list[list[tuple[int, int]]]:
    """Pixel paths ``[(y, x), ...]`` of a skeleton: longest path first, then the remaining branches.

    Args:
        skel: 0/1 skeleton.
        min_len: pieces with fewer pixels are dropped.
        spur: branches shorter than this (pixels) that hang off a traced path are dropped.
    """
    import cv2
    n, labels, stats, _ = cv2.connectedComponentsWithStats(skel.astype(np.uint8), connectivity=8)
    paths: list[list[tuple[int, int]]] = []
    for k in range(1, n):
        if stats[k, cv2.CC_STAT_AREA] < min_len:
            continue
        x, y, w, h = stats[k, :4]
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == k)
        todo = [set(zip((ys + y).tolist(), (xs + x).tolist()))]
        first = True
        while todo:
            comp = todo.pop()
            if len(comp) < (min_len if first else spur):
                continue
            path = _longest_path(comp)
            if len(path) >= (min_len if first else spur):
                paths.append(path)
            first = False
            on = set(path)
            # drop the path and the pixels touching it, so branches come out detached
            rest = {p for p in comp if p not in on}
            halo = {(py + dy, px + dx) for py, px in path for dy, dx in _NB}
            attach = {p for p in rest if p in halo}
            rest -= attach
            for c in _components(rest):
                # a branch starts next to the path: put that pixel back so the branch reaches the junction
                touch = [p for p in attach if any((p[0] + dy, p[1] + dx) in c for dy, dx in _NB)]
                todo.append(c | set(touch[:1]))
    return paths


def simplify(path: list[tuple[int, int]], eps: float) -> list[tuple[float, float]]:
    """``(x, y)`` vertices of a pixel path (Douglas-Peucker, OpenCV)."""
    import cv2
    pts = np.array([[x, y] for y, x in path], np.float32).reshape(-1, 1, 2)
    out = cv2.approxPolyDP(pts, eps, False).reshape(-1, 2)
    return [(float(x), float(y)) for x, y in out]
