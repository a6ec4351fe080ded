"""OCR words that are drawing, and text the OCR did not read (``raster_ink.inked_words``, ``raster_text``)."""
import cv2
import numpy as np

from tests.bpmn.conftest import A10_PDF

S = 72 / 150  # points per pixel at 150 dpi


def _task(img, x0, y0, x1, y1):
    cv2.rectangle(img, (x0 + 12, y0), (x1 - 12, y1), 255, 3)
    cv2.rectangle(img, (x0, y0 + 12), (x1, y1 - 12), 255, 3)
    img[y0 + 3:y1 - 2, x0 + 3:x1 - 2] = 0
    for cx, cy in ((x0 + 12, y0 + 12), (x1 - 12, y0 + 12), (x1 - 12, y1 - 12), (x0 + 12, y1 - 12)):
        cv2.circle(img, (cx, cy), 12, 255, 3)
    img[y0 + 13:y1 - 12, x0 + 3:x1 - 2] = 0
    img[y0 + 3:y1 - 2, x0 + 13:x1 - 12] = 0


def test_words_read_off_a_task_edge_and_a_dashed_line_are_not_words():
    from pdf_ocr_pipeline.bpmn.raster.ink import inked_words
    img = np.zeros((300, 400), np.uint8)
    _task(img, 50, 50, 250, 170)
    cv2.putText(img, "Task 2", (110, 118), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 255, 1)
    for x in range(30, 380, 14):  # a dashed message flow
        img[240:242, x:x + 8] = 255
    word = ("Task", (108 * S, 104 * S, 150 * S, 118 * S))
    digit = ("2", (158 * S, 104 * S, 168 * S, 118 * S))
    edge = ("ити", (50 * S, 48 * S, 250 * S, 62 * S))        # Tesseract's box over the rounded top edge
    flat = ("eee", (30 * S, 239 * S, 370 * S, 243 * S))     # a flat box along the dashes
    got = inked_words(img, [word, digit, edge, flat, ("Task", (170 * S, 104 * S, 212 * S, 118 * S))], S)
    assert word in got and digit in got
    assert edge not in got and flat not in got


def test_unread_label_is_cleared_and_the_drawing_is_not():
    from pdf_ocr_pipeline.bpmn.raster.ink import long_runs
    from pdf_ocr_pipeline.bpmn.raster.text import unread_text
    img = np.zeros((260, 500), np.uint8)
    cv2.line(img, (20, 60), (300, 60), 255, 2)                     # a flow with its head
    cv2.fillPoly(img, [np.array([[300, 52], [318, 60], [300, 68]])], 255)
    cv2.circle(img, (360, 60), 25, 255, 3)                         # an event, a border crossing it
    cv2.line(img, (330, 60), (480, 60), 255, 2)
    cv2.putText(img, "Start event", (60, 160), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 255, 1)
    text = img[140:170, 55:200] > 0
    runs = long_runs(img, [], S)
    m = unread_text(img, runs, [], S)
    assert (m[140:170, 55:200] > 0).sum() > 0.8 * text.sum()       # the letters
    assert not m[:100].any()                                      # flow, head, ring untouched
    # a word box already covers the label: nothing to clear
    assert not unread_text(img, runs, [("Start", (55 * S, 140 * S, 200 * S, 170 * S))] * 3, S).any()


def test_a_page_the_ocr_read_no_word_of_keeps_its_flows_directions():
    """miwg A.1.0 at 150 dpi with no words (Tesseract reads one word of the noisy page): the task labels'
    letters were taken for arrowheads and one flow pointed backwards; cleared, all four flows are right."""
    import pymupdf
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    page = pymupdf.open(A10_PDF)[0]
    pix = page.get_pixmap(dpi=150, colorspace="gray")
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).astype(np.float32)
    rng = np.random.default_rng(0)  # bench/bpmn_eval.py's scan noise
    img = cv2.GaussianBlur(img, (3, 3), 0.6) + rng.normal(0, 12, img.shape)
    img[rng.random(img.shape) < 0.002] = 0
    png = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes()
    d = extract_raster(png, [], page_no=1, dpi=150)
    names = {e.id: (e.type, round(e.box[0])) for e in d.shapes}
    flows = sorted((names[f.source_id][1], names[f.target_id][1]) for f in d.flows
                   if f.source_id in names and f.target_id in names)
    assert len(d.flows) == 4
    assert all(a < b for a, b in flows), flows                  # left to right, as drawn
