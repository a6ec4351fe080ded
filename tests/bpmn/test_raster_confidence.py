"""OCR word confidence on the raster path: carried from the engine's blocks (``bpmn.words_from_blocks``) and
used to drop unsure words read off a dashed ring (``raster_rings.ring_words``)."""
import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from tests.bpmn.conftest import BPMN_FIXTURES  # noqa: E402

S = 72 / 150  # points per pixel at 150 dpi
# Tesseract (rus+eng, psm 11) on miwg A.3.0 at 150 dpi with bench/bpmn_eval.py's noise (seed 2): the envelope
# of the dashed boundary event read as a word over the ring's top, and two dashes read as letters (points)
RING_GARBAGE = [("Mao’", (254.4, 189.12, 276.0, 195.36), 0.42), ("х", (254.4, 204.0, 260.64, 208.32), 0.62),
                ("г", (269.76, 204.96, 276.0, 209.76), 0.43)]


def test_words_from_blocks_carry_the_confidence_and_still_unpack_as_pairs():
    from pdf_ocr_pipeline.bpmn import words_from_blocks
    from pdf_ocr_pipeline.bpmn.labels import OcrWord, with_text, word_conf
    from pdf_ocr_pipeline.bpmn.raster.lookalike import fix_words
    from pdf_ocr_pipeline.engines.base import Block
    ws = words_from_blocks([Block("word", "Task", 1, 2, 3, 4, 0.91), Block("word", "1", 5, 2, 6, 4),
                            Block("word", "  ", 0, 0, 1, 1, 0.5)])
    assert len(ws) == 2
    text, box = ws[0]
    assert (text, box) == ("Task", (1, 2, 3, 4)) and ws[0] == ("Task", (1, 2, 3, 4))
    assert isinstance(ws[0], OcrWord) and word_conf(ws[0]) == pytest.approx(0.91)
    assert word_conf(ws[1]) is None and ws[1] == ("1", (5, 2, 6, 4))
    assert word_conf(with_text(ws[0], "Tusk")) == pytest.approx(0.91)
    # a Cyrillic page's look-alike fix keeps the confidence
    fixed = fix_words([OcrWord("Задача", (0, 0, 9, 3), 0.8), OcrWord("Зaдaчa", (0, 5, 9, 8), 0.3)])
    assert fixed[1][0] == "Задача" and word_conf(fixed[1]) == pytest.approx(0.3)


def _dashed_event(img, c, r):
    for a0 in range(0, 360, 24):
        cv2.ellipse(img, c, (r, r), 0, a0, a0 + 14, 255, 2)


def test_unsure_words_on_a_ring_are_dropped_and_others_kept():
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    from pdf_ocr_pipeline.bpmn.raster.rings import ring_words
    ink = np.zeros((200, 300), np.uint8)
    _dashed_event(ink, (100, 100), 25)
    cv2.putText(ink, "Event", (180, 105), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1)
    on_ring = (78 * S, 72 * S, 122 * S, 86 * S)           # a box over the ring's top arcs
    label = (178 * S, 92 * S, 230 * S, 106 * S)
    rings = [(100.0, 100.0, 25, None)]
    unsure, sure = OcrWord("Mao'", on_ring, 0.42), OcrWord("Mao'", on_ring, 0.95)
    plain = ("Mao'", on_ring)                               # text layer: no confidence, trusted
    low_label = OcrWord("Event", label, 0.3)                # real text read with a low confidence
    got = ring_words([unsure, sure, plain, low_label], rings, ink, S)
    assert [id(w) for w in got] == [id(sure), id(plain), id(low_label)]  # equal pairs: compared by identity
    assert ring_words([unsure], [], ink, S) == [unsure]     # no ring: nothing dropped


def _noisy(page, seed):
    """The page at 150 dpi with bench/bpmn_eval.py's scan noise (the seed is the page's index in its set)."""
    pix = page.get_pixmap(dpi=150, colorspace="gray")
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).astype(np.float32)
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(img, (3, 3), 0.6) + rng.normal(0, 12, img.shape)
    img[rng.random(img.shape) < 0.002] = 0
    return cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes()


def _noisy_a30():
    import pymupdf
    page = pymupdf.open(BPMN_FIXTURES / "A.3.0.pdf")[0]
    png = _noisy(page, 2)
    from pdf_ocr_pipeline.pdf.text import page_words
    words = [(w.text, (w.x0, w.y0, w.x1, w.y1)) for w in page_words(page)]
    return png, words


def test_a30_boundary_event_survives_ocr_garbage_read_off_its_dashed_ring():
    """miwg A.3.0: the Tesseract words read off the dashed message boundary event used to be blanked, which cut
    the ring: the event and the collapsed sub-process under it were lost (3 flows). Unsure, they are dropped."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    png, words = _noisy_a30()

    def found(conf):
        garbage = [OcrWord(t, b, conf if conf is not None else c) for t, b, c in RING_GARBAGE]
        d = extract_raster(png, words + garbage, page_no=1, dpi=150)
        boundary = [e for e in d.shapes if e.type == "boundaryEvent" and abs(e.box[0] - 254) < 4
                    and abs(e.box[1] - 188) < 4]
        sub = [e for e in d.shapes if e.type == "subProcess" and abs(e.box[0] - 212) < 4 and abs(e.box[3] - 266) < 4]
        return bool(boundary), bool(sub), len(d.flows)

    assert found(None) == (True, True, 8)      # Tesseract's own confidences (0.42, 0.62, 0.43)
    b, s, _ = found(0.95)                       # the same boxes taken as sure words cut the ring
    assert not (b and s)


def test_b20_boundary_event_survives_garbage_beside_a_poorly_read_label():
    """miwg B.2.0 with its real Tesseract words (``B.2.0-tesseract-words.json``: rus+eng, psm 11, on the bench's
    noisy 150 dpi raster, with confidences). Dashes of a dashed double-ringed boundary event are read as
    words ("SS", "ww") and the label under it poorly ("Bourfdary", 0.54): with the unsure label left on the
    ink the ring search drew its circle off the ring, the garbage stayed and was blanked, and the event was
    lost with its call activity. Unsure words longer than an event is wide are blanked for the ring search.
    The escalation event at (991, 694), "Vat" (0.05) over its top: Hough's circle, pulled towards its
    triangle, read the ring as 7 long arcs, so it and "Task 23" were lost (pass 8: judged again recentred).
    The two flows merged into the segment down to the end event at (1223, 934) were joined back into one
    stroke running down and up the stem (pass 8: ``connectors._doubles_back``)."""
    import json

    import pymupdf
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    page = pymupdf.open(BPMN_FIXTURES / "B.2.0.pdf")[0]
    png = _noisy(page, 6)
    data = json.loads((BPMN_FIXTURES / "B.2.0-tesseract-words.json").read_text(encoding="utf-8"))
    words = [OcrWord(t, tuple(b), c) for t, b, c in data]
    d = extract_raster(png, words, page_no=1, dpi=150)
    assert any(e.type == "boundaryEvent" and abs(e.box[0] - 811) < 4 and abs(e.box[1] - 515) < 4 for e in d.shapes)
    assert any(e.type == "callActivity" and abs(e.box[0] - 768) < 4 and abs(e.box[3] - 527) < 4 for e in d.shapes)
    assert any(e.type == "boundaryEvent" and abs(e.box[0] - 991) < 4 and abs(e.box[1] - 694) < 4 for e in d.shapes)
    assert any(e.type == "task" and abs(e.box[0] - 961) < 4 and abs(e.box[1] - 656) < 4 for e in d.shapes)
    shapes = {e.id: e for e in d.shapes}
    into_end = sorted(round(shapes[f.source_id].box[0]) for f in d.flows if f.type == "sequenceFlow"
                      and f.target_id in shapes and abs(shapes[f.target_id].box[0] - 1223) < 4
                      and abs(shapes[f.target_id].box[1] - 934) < 4 and f.source_id in shapes)
    assert [x for x in into_end if x > 940] == [957, 1118]   # the two tasks merged into the stem


def test_rings_cutting_a_stronger_one_are_text_and_keep_their_words():
    """The Russian B.2.0 twin: with the unsure "17" of "Задача 17" left on the ink, a second circle (r 15 pt)
    through it and the boundary event's ring is dashed too; "17" lay inside it and was dropped, and its
    unblanked digits turned the task into an end event. Rings cutting a stronger one are left out."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    from pdf_ocr_pipeline.bpmn.raster.rings import apart, ring_words
    true, false, other = (2240.0, 1094.0, 25, 20), (2254.0, 1067.0, 31, None), (1860.0, 1516.0, 25, 20)
    assert apart([true, false, other]) == [true, other]
    ink = np.zeros((1200, 2400), np.uint8)
    ink[1034:1046, 2245:2262] = 255                             # the digits, above the true ring
    seventeen = OcrWord("17", (2244 * S, 1033 * S, 2263 * S, 1046 * S), 0.51)
    assert ring_words([seventeen], [true, false], ink, S) == []  # the circle through it takes it
    assert ring_words([seventeen], apart([true, false]), ink, S) == [seventeen]


def test_a_message_flows_start_circle_read_as_o_on_a_task_border_is_not_a_word():
    """miwg A.4.1 at 150 dpi with bench/bpmn_eval.py's noise (seed 4): Tesseract reads the small circle where a
    message flow leaves "Task 5" (white-filled over the task's left border) as "O" (conf 0.89); blanking that
    box cut the border open and the task was lost with its 3 flows. Ink crop (binarised whole page, faint rules
    added) from (339.84, 544.8) pt; the words are Tesseract's, shifted into the crop."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    from pdf_ocr_pipeline.bpmn.raster.ink import inked_words
    ink = cv2.imread(str(BPMN_FIXTURES / "raster_ink_message_start_a41.png"), cv2.IMREAD_GRAYSCALE)
    ink = np.where(ink > 127, 255, 0).astype(np.uint8)

    def at(t, x0, y0, x1, y1, c):
        return OcrWord(t, (x0 - 339.84, y0 - 544.8, x1 - 339.84, y1 - 544.8), c)
    o = at("O", 364.32, 575.04, 371.52, 582.24, 0.895)
    task, five = at("Task", 384.96, 575.04, 405.12, 582.24, 0.938), at("5", 409.92, 575.04, 414.24, 582.24, 0.938)
    assert [w[0] for w in inked_words(ink, [o, task, five], S)] == ["Task", "5"]
    # a real "O" in a label (no line through it) stays a word
    assert [w[0] for w in inked_words(ink, [at("O", 384.96, 575.04, 390.0, 582.24, 0.9), task], S)] == ["O", "Task"]
