"""Labels from OCR words of pictures (issue 16): the words and boxes below are Tesseract's reading of pasted
pictures of the bpmn-visualization corpus (``bench/bpmn_corpus``), in picture points, as the pipeline read them."""

from types import SimpleNamespace

from pdf_ocr_pipeline.bpmn.labels import OcrWord, attach_labels, lines_of


def _shape(type_, box, header=None):
    return SimpleNamespace(type=type_, box=box, header=header, markers=(), label="", label_box=None)


def test_a_vertical_name_reads_bottom_to_top_when_its_words_left_edges_jitter():
    # "senior claims officer" written bottom to top; "officer" starts a point right of "claims"
    words = [OcrWord("senior", (31.2, 244.0, 34.2, 259.0), 0.91), OcrWord("claims", (30.3, 226.8, 34.2, 242.4), 0.97),
             OcrWord("officer", (31.4, 211.6, 35.3, 225.2), 0.95)]
    assert [[w[0] for w in ln] for ln in lines_of(words)] == [["senior", "claims", "officer"]]


def test_characters_read_inside_a_vertical_word_are_not_part_of_the_name():
    # OCR read the rotated "claims officer" twice: as two vertical words and as digits inside them
    lane = _shape("lane", (26.0, 130.0, 607.0, 219.0), header=(26.0, 130.0, 48.0, 219.0))
    words = [OcrWord("5", (35.1, 157.8, 38.1, 159.4), 0.96), OcrWord("5", (35.1, 159.7, 38.1, 162.7), 0.91),
             OcrWord("5", (35.1, 169.8, 38.1, 172.8), 0.91), OcrWord("2", (35.1, 174.7, 38.1, 177.0), 0.80),
             OcrWord("3", (34.2, 186.8, 38.1, 190.0), 0.66), OcrWord("claims", (34.2, 174.7, 38.1, 190.0), 0.97),
             OcrWord("officer", (34.2, 157.8, 38.1, 172.8), 0.97)]
    attach_labels([lane], [], words)
    assert lane.label == "claims officer"


def test_an_icon_read_as_a_letter_inside_an_event_is_not_its_label():
    # a message start event: OCR read its envelope as "у"; the name is below it
    event = _shape("startEvent", (40.6, 288.0, 53.8, 301.3))
    words = [OcrWord("у", (44.9, 292.1, 49.6, 297.0), 0.42), OcrWord("claim", (38.2, 304.7, 51.0, 308.3), 0.96),
             OcrWord("received", (36.0, 310.5, 57.9, 314.1), 0.97)]
    attach_labels([event], [], words)
    assert event.label == "claim received"
    # words of a text layer are never a marker: a name written inside the shape stays
    event = _shape("startEvent", (40.6, 288.0, 53.8, 301.3))
    attach_labels([event], [], [("A", (45.0, 292.0, 49.0, 297.0))])
    assert event.label == "A"


def test_an_event_name_of_lower_case_cyrillic_lines_is_read_whole():
    # five lines under a start event, one word each; OCR boxes of "школа" are x-height only, so the lines look
    # further apart than a block's
    event = _shape("startEvent", (40.6, 288.0, 53.8, 301.3))
    words = [OcrWord("два", (47.7, 306.7, 55.8, 310.3), 0.96), OcrWord("месяц", (45.2, 312.5, 58.9, 316.1), 0.97),
             OcrWord("до", (49.1, 318.2, 54.4, 321.8), 0.88), OcrWord("школа", (45.0, 324.5, 59.0, 327.2), 0.96),
             OcrWord("год", (48.6, 330.5, 55.4, 334.1), 0.88)]
    attach_labels([event], [], words)
    assert event.label == "два месяц до школа год"
