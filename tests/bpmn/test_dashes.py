"""Dashed and dotted connectors traced from images: dash pieces join into one message flow / association."""

import sys
from pathlib import Path

import pymupdf
import pytest

pytest.importorskip("cv2")

from pdf_ocr_pipeline.bpmn.raster.dashes import join_dashes  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402
from pdf_ocr_pipeline.bpmn.primitives import Prim  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster  # noqa: E402
from pdf_ocr_pipeline.pdf.text import page_words  # noqa: E402

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.bpmn_eval import FLOW_CLASSES, _noisy_png, score  # noqa: E402


def _seg(a, b) -> Prim:
    return Prim(points=(a, b), closed=False, curves=0, lines=1, stroke=0.0, fill=None, width=0.75, dash="solid",
                order=0)


def test_dash_pieces_join_across_a_border_gap_and_an_elbow():
    pieces = []
    y = 10.0
    while y < 100:  # vertical dashes 4 long, gap 5, with a little pixel jitter
        if not 50 < y < 62:  # a pool border swallowed two dashes
            pieces.append(_seg((100.0 + (0.4 if int(y) % 2 else 0.0), y), (100.0, y + 4)))
        y += 9
    x = 95.0
    while x > 40:  # then the line turns left
        pieces.append(_seg((x, 104.0), (x - 4, 104.0)))
        x -= 9
    solid = _seg((0.0, 200.0), (300.0, 200.0))
    lone = [_seg((200.0, 10.0), (203.0, 10.0)), _seg((250.0, 60.0), (250.0, 63.0))]
    out = join_dashes(pieces + [solid] + lone)
    dashed = [p for p in out if p.dash == "dashed"]
    assert len(dashed) == 1
    pts = dashed[0].points
    assert len(pts) == 3  # one elbow
    ends = sorted([pts[0], pts[-1]])
    assert abs(ends[0][0] - 37) < 2 and abs(ends[1][1] - 10) < 3
    assert solid in out and all(p in out for p in lone)  # other strokes untouched


def _noisy(stem: str, seed: int):
    page = pymupdf.open(FIX / f"{stem}.pdf")[0]
    words = [(w.text, (w.x0, w.y0, w.x1, w.y1)) for w in page_words(page)]
    return extract_raster(_noisy_png(page, 150, seed), words, page_no=1, dpi=150)


def test_raster_message_flows_across_pools_a40():
    s = score(_noisy("A.4.0", 3), parse_bpmn(FIX / "A.4.0.bpmn", transform=(0.75, 0.75, 0, 0)))
    # measured 2026-11-27: flows F1 0.703 -> 1.000 (both message flows; 9 association fragments gone)
    assert s.tp["flow:messageFlow"] == 2
    assert s.fp["flow:association"] == 0
    assert s.prf(FLOW_CLASSES)[2] >= 0.95


def test_a_run_keeps_its_direction_when_a_speck_tilts_its_axis():
    # a vertical run whose fitted axis flips sign once a speck a quarter point off joins it: growth must go on
    # in the same direction and bridge the border gap below
    pieces = [_seg((184.32, 163.2), (184.32, 159.36)), _seg((184.32, 168.48), (184.32, 172.32)),
              _seg((184.32, 180.96), (184.32, 177.6)), _seg((184.32, 195.36), (184.32, 198.72)),
              _seg((184.32, 207.84), (184.32, 204.48))]
    speck = [Prim(points=((184.56, 186.24), (184.56, 187.2)), closed=False, curves=0, lines=1, stroke=0.0, fill=None,
                  width=0.0, dash="dotted", order=0)]
    out = join_dashes(pieces, speck)
    assert len(out) == 1 and out[0].dash == "dashed"
    ys = sorted(q[1] for q in out[0].points)
    assert ys[0] < 160 and ys[-1] > 207


def test_raster_elbow_message_flows_b10():
    s = score(_noisy("B.1.0", 5), parse_bpmn(FIX / "B.1.0.bpmn", transform=(0.75, 0.75, 0, 0)))
    # measured 2026-11-27: message flows 0/2 -> 2/2 (two bends each, crossing pool borders); flows F1 0.656 -> 0.786
    assert s.tp["flow:messageFlow"] == 2
    assert s.prf(FLOW_CLASSES)[2] >= 0.75


def test_dots_traced_across_their_line_still_join_into_a_dotted_run():
    """B.1.0's data output association (service task -> store), cut from what ``raster.trace_words`` hands the
    connector tracing on the page at 150 dpi with bench/bpmn_eval.py's noise (255: the connector ink left
    once shapes and words are out, 128: faint dots only). Every dot of the horizontal leg traces as a
    one-pixel stroke *across* the line, so a run grown along the dot's own direction found no neighbour and
    the leg was lost (pass 7): the association was never produced."""
    import cv2

    from pdf_ocr_pipeline.bpmn.raster.dashes import specks
    from pdf_ocr_pipeline.bpmn.raster.extract import _strokes
    scale = 72 / 150
    img = cv2.imread(str(FIX / "raster_dotted_association_b10.png"), cv2.IMREAD_GRAYSCALE)
    rest = ((img > 200) * 255).astype("uint8")
    mask = ((img > 60) * 255).astype("uint8")
    out = join_dashes(_strokes(rest, scale, 0), specks(mask, scale))
    dotted = [p for p in out if p.dash == "dotted"]
    assert len(dotted) == 1
    pts = dotted[0].points
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    # the elbow: down from the task (x ~ 8 pt in the crop), then right towards the store (x ~ 88)
    assert len(pts) == 3 and max(ys) - min(ys) > 18
    assert abs(min(xs) - 7.8) < 2.0 and max(xs) > 85


def test_many_runs_of_one_dashed_line_join_into_one():
    """Runs split by gaps wider than a run's bridge but short enough to continue each other (a noisy scan makes
    hundreds): they join into one dashed line, pair by pair in index order (one pass per join, not a rescan)."""
    pieces, x = [], 0.0
    for run in range(40):
        for _ in range(3):  # three dashes 4 long, gap 4
            pieces.append(_seg((x, 50.0), (x + 4.0, 50.0)))
            x += 8.0
        x += 18.0  # 22 points from the last dash's end to the next run: over the bridge (20), under 1.5 x it
    out = join_dashes(pieces)
    dashed = [p for p in out if p.dash == "dashed"]
    assert len(dashed) == 1
    xs = [q[0] for q in dashed[0].points]
    assert min(xs) == pytest.approx(0.0, abs=1.0) and max(xs) == pytest.approx(x - 22.0, abs=1.0)
