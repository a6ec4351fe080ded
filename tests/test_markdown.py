"""Pages and documents as Markdown: headings and paragraphs from the text layer of the sample Russian report,
pictures and diagrams in place, nothing of the page text lost."""

import json
import re
from collections import Counter
from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn import extract_diagram
from pdf_ocr_pipeline.bpmn.rows import element_rows
from pdf_ocr_pipeline.bpmn.summary import diagram_summary
from pdf_ocr_pipeline.markdown import (blocks_from_lines, document_markdown, page_jsonl, page_markdown,
                                       text_layer_blocks)
from pdf_ocr_pipeline.pdf.text import page_text, page_words

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = FIXTURES / "ru_report_p3-5_7.pdf"  # report pages 3, 4, 5, 7: abstract, contents, introduction, 1.1
REPORT_FIGURES = FIXTURES / "ru_report_p14_18.pdf"  # report pages 14 and 18: two screenshots a page


def _words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text))


def _headings(path: Path) -> list[tuple[int, int, str]]:
    with pymupdf.open(path) as doc:
        return [(page.number + 1, b.level, b.text) for page in doc for b in text_layer_blocks(page)
                if b.role == "heading"]


def test_report_headings_found_in_order_with_levels():
    assert _headings(REPORT) == [(1, 1, "РЕФЕРАТ"), (2, 1, "СОДЕРЖАНИЕ"), (3, 1, "ВВЕДЕНИЕ"),
                                 (4, 2, "1.1 Таблица записей")]
    assert _headings(REPORT_FIGURES) == [(1, 1, "3 Тестирование"), (1, 2, "3.1 Добавление записи"),
                                         (2, 2, "3.5 Генерация данных")]


def test_page_numbers_and_contents_lines_are_not_headings():
    with pymupdf.open(REPORT) as doc:
        contents = text_layer_blocks(doc[1])
        footers = [b for b in contents if b.role == "furniture"]
        assert [b.text for b in footers] == ["4"] and footers[0].y0 > 800
        entries = [b.text for b in contents if b.role == "paragraph"]
        # one paragraph per contents line, its page number on the same line
        assert entries[0].startswith("Введение") and entries[0].endswith("5")
        assert entries[1].startswith("1 Структура базы данных") and entries[1].endswith("6")
        assert len(entries) == 25
        md = page_markdown(2, page_text(doc[1]), "text_layer", contents)
    assert "\n1 Структура базы данных ... 6\n" in md and "# 1 Структура" not in md
    assert "<!-- running: 4 -->" in md  # the page number is kept, out of the reading


def test_report_paragraphs_and_list_items():
    with pymupdf.open(REPORT) as doc:
        blocks = text_layer_blocks(doc[3])
    paragraphs = [b for b in blocks if b.role == "paragraph"]
    items = [b for b in blocks if b.role == "list_item"]
    assert paragraphs[0].text.startswith("Таблица entries является центральной таблицей")
    assert paragraphs[0].text.endswith("предотвращая дублирование информации.")
    assert [b.text.split()[1] for b in items] == ["entry_id", "name_id", "surname_id", "patronymic_id", "street_id",
                                                  "building", "phone", "apartment"]
    assert items[0].text == "— entry_id (integer, primary key) - Уникальный идентификатор записи в таблице."
    assert len(paragraphs) == 3 + 1  # three body paragraphs after the list, one before it
    assert all(b.x0 < b.x1 <= 595 and b.y0 < b.y1 <= 842 for b in blocks)
    md = page_markdown(4, "", "text_layer", blocks)
    assert "\n\n- entry_id (integer, primary key) - Уникальный идентификатор записи в таблице.\n- name_id " in md
    assert "\n- apartment (integer) - Номер квартиры.\n\nВ таблице entries поля" in md


@pytest.mark.parametrize("path", [REPORT, REPORT_FIGURES])
def test_nothing_of_the_page_text_is_lost(path):
    with pymupdf.open(path) as doc:
        for page in doc:
            text = page_text(page)
            for blocks in (text_layer_blocks(page), None):
                md = page_markdown(page.number + 1, text, "text_layer", blocks)
                assert not _words(text) - _words(md), (page.number + 1, blocks is None)
                assert "text not placed above" not in md


def test_report_page_as_markdown():
    with pymupdf.open(REPORT) as doc:
        page = doc[2]
        md = page_markdown(3, page_text(page), "text_layer", text_layer_blocks(page))
    parts = md.split("\n\n")
    assert parts[0] == "# ВВЕДЕНИЕ"
    assert parts[1].startswith("Базы данных являются неотъемлемой частью современных информационных систем.")
    assert "\n" not in parts[1]  # a paragraph's justified lines joined into one
    assert parts[2].startswith("В данной работе разрабатывается") and parts[3].startswith("Работа состоит")
    assert parts[4] == "<!-- running: 5 -->"


def _figures(page: pymupdf.Page) -> list[dict]:
    return [{"x0": i["bbox"][0], "y0": i["bbox"][1], "x1": i["bbox"][2], "y1": i["bbox"][3], "kind": "photo",
             "text": f"Окно программы {n}"} for n, i in enumerate(page.get_image_info(), 1)]


def test_figures_placed_between_the_right_paragraphs():
    with pymupdf.open(REPORT_FIGURES) as doc:
        page = doc[0]
        figures = _figures(page)
        md = page_markdown(1, page_text(page), "text_layer", text_layer_blocks(page), figures=figures)
    assert len(figures) == 2
    order = [md.index(s) for s in ("## 3.1 Добавление записи", "а на рисунке 11",
                                   "> **Figure (photo)**\n>\n> Окно программы 1", "Рисунок 10 — Интерфейс",
                                   "> Окно программы 2", "Рисунок 11 — Интерфейс")]
    assert order == sorted(order)


def test_figure_text_already_in_the_page_text_is_not_repeated():
    with pymupdf.open(REPORT_FIGURES) as doc:
        page = doc[0]
        figures = _figures(page)
        blocks = text_layer_blocks(page)
        text = page_text(page)
    # the pipeline puts a picture's OCR'd text into ocr_pages.text where the picture is
    at = text.index("Рисунок 10")
    text = text[:at] + "Окно программы 1\n\n" + text[at:]
    md = page_markdown(1, text, "text_layer", blocks, figures=figures)
    assert md.count("Окно программы 1") == 1 and "text not placed" not in md
    # the same text without its figure: kept all the same, at the end of the page
    md = page_markdown(1, text, "text_layer", blocks)
    assert md.count("Окно программы 1") == 1
    assert md.index("<!-- text not placed above -->") < md.index("Окно программы 1")


def test_a_figure_read_with_an_ocr_page_names_the_picture_where_its_text_is():
    text = "Первый абзац страницы.\n\nПодпись на снимке экрана\n\nРисунок 1 — Окно программы"
    fig = {"box": (10, 100, 300, 300), "kind": "photo", "text": "Подпись на снимке экрана"}
    chart = {"box": (10, 400, 300, 500), "kind": "chart", "text": "Продажи по месяцам"}
    md = page_markdown(1, text, "ocr", figures=[fig, chart], engine="tesseract")
    assert md.count("Подпись на снимке экрана") == 1
    assert md.index("Первый абзац") < md.index("**Figure (photo)**") < md.index("Подпись на снимке")
    assert md.endswith("> **Figure (chart)**\n>\n> Продажи по месяцам")


def test_a_diagram_replaces_the_labels_inside_it():
    with pymupdf.open(FIXTURES / "A.1.0.pdf") as doc:
        page = doc[0]
        rows = element_rows(extract_diagram(page, 1), "A.1.0")
        box = (min(r["x0"] for r in rows) - 5, min(r["y0"] for r in rows) - 5,
               max(r["x1"] for r in rows) + 5, max(r["y1"] for r in rows) + 5)
        text = page_text(page)
        blocks = text_layer_blocks(page)
    diagrams = [{"box": box, "summary": diagram_summary(rows, "../bpmn/A.1.0/page-1.bpmn")}]
    md = page_markdown(1, text, "text_layer", blocks, diagrams=diagrams)
    assert all(line.startswith(">") for line in md.splitlines() if "Task" in line)
    assert md.startswith("> **BPMN diagram:**") and md.count('"Task 2"') == 2  # elements, flow
    assert "[page-1.bpmn](../bpmn/A.1.0/page-1.bpmn)" in md
    assert not _words(text) - _words(md)
    # the picture the diagram was found in, as a figure: one region, its words the summary lacks added once
    picture = {"box": (box[0] - 20, box[1] - 20, box[2] + 20, box[3] + 20), "kind": "diagram",
               "text": "Start Event Task 1 Task 2 Схема процесса"}
    with_figure = page_markdown(1, text, "text_layer", blocks, figures=[picture], diagrams=diagrams)
    assert "**Figure" not in with_figure and with_figure.startswith("> **BPMN diagram:**")
    assert with_figure.endswith("> *Other text in the picture:*\n>\n> Start Event Task 1 Task 2 Схема процесса")


def test_plain_ocr_text_becomes_paragraphs():
    text = ("Это первая строка длинного абзаца, который перенесён на\nвторую строку и закончен здесь.\n\n"
            "# не заголовок\n\nАдрес:\nМосква\n\nнаучно-\nисследовательской")
    md = page_markdown(1, text, "ocr", engine="tesseract")
    assert md.split("\n\n") == [
        "Это первая строка длинного абзаца, который перенесён на вторую строку и закончен здесь.",
        "\\# не заголовок", "Адрес:\nМосква", "научно-исследовательской"]


def test_model_markdown_is_kept_and_a_fallback_page_is_plain():
    text = "# Заголовок\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nкод\n\nещё\n```\n\nПодпись на снимке"
    assert page_markdown(1, text, "ocr", engine="deepseek-vllm") == text
    assert page_markdown(1, text, "fallback", engine="deepseek-vllm").startswith("\\# Заголовок")
    fig = {"box": (0, 0, 9, 9), "kind": "photo", "text": "Подпись на снимке"}
    md = page_markdown(1, text, "ocr", figures=[fig], engine="deepseek-vllm")
    assert md == text.replace("Подпись", "> **Figure (photo)**\n> *(its text follows)*\n\nПодпись")


def test_ocr_word_boxes_give_the_same_paragraphs():
    """OCR words (here the text layer's words, boxes only: no fonts) grouped like the text layer's lines."""
    with pymupdf.open(REPORT) as doc:
        for page in doc:
            words = [(w.text, (w.x0, w.y0, w.x1, w.y1)) for w in page_words(page)]
            from_words = blocks_from_lines(words, page.rect.height)
            assert [b.text for b in from_words] == [b.text for b in text_layer_blocks(page)]
            assert {b.role for b in from_words} <= {"paragraph", "list_item", "furniture", "caption"}


def test_a_failed_page_says_so():
    md = page_markdown(7, "", "none", error="tesseract failed:\n  bad image")
    assert md == "*(page 7 could not be read: tesseract failed: bad image)*"
    assert page_markdown(8, "", "text_layer", []) == ""


def test_document_markdown_streams_pages_with_markers():
    consumed = []

    def pages():
        for n in (1, 2, 4):
            consumed.append(n)
            yield n, f"Страница {n}" if n != 2 else ""

    chunks = document_markdown("Отчёт  о работе", pages())
    assert next(chunks) == "# Отчёт о работе\n"
    assert next(chunks) == "\n<!-- page 1 -->\n\nСтраница 1\n" and consumed == [1]
    rest = "".join(chunks)
    assert rest == "\n<!-- page 2 -->\n\n<!-- page 4 -->\n\nСтраница 4\n"
    assert "".join(document_markdown("t", ["a", "b"])).endswith("<!-- page 2 -->\n\nb\n")


def test_page_jsonl_keeps_cyrillic():
    line = page_jsonl(3, "# ВВЕДЕНИЕ\n\nТекст", "text_layer", doc_id="report")
    assert line.endswith("\n") and line.count("\n") == 1 and "ВВЕДЕНИЕ" in line
    assert json.loads(line) == {"doc_id": "report", "page_no": 3, "markdown": "# ВВЕДЕНИЕ\n\nТекст",
                                "source": "text_layer"}


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_pages_read_upright_in_the_displayed_frame(rotation):
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=600)
    page.set_rotation(rotation)
    lines = [("Big heading", 20), ("body text one two three four five six seven", 11),
             ("and the second line of the same paragraph", 11)]
    for i, (text, size) in enumerate(lines):
        page.insert_text(pymupdf.Point(50, 80 + 30 * i) * page.derotation_matrix, text, fontsize=size,
                         rotate=rotation)
    blocks = text_layer_blocks(page)
    assert [(b.role, b.level) for b in blocks] == [("heading", 1), ("paragraph", 0)]
    assert blocks[1].text == lines[1][0] + " " + lines[2][0]
    assert 45 < blocks[0].x0 < 55 and 50 < blocks[0].y0 < 80 and blocks[1].y1 < 150


def test_two_columns_are_read_column_by_column():
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    left = [f"left column line {i} with several words" for i in range(8)]
    right = [f"right column line {i} with several words" for i in range(8)]
    for i, (a, b) in enumerate(zip(left, right)):
        page.insert_text((50, 100 + 14 * i), a, fontsize=10)
        page.insert_text((320, 100 + 14 * i), b, fontsize=10)
    blocks = text_layer_blocks(page)
    assert [b.text for b in blocks] == [" ".join(left), " ".join(right)]


def test_a_running_footer_that_reads_page_n_is_never_a_page_marker():
    from pdf_ocr_pipeline.markdown import TextBlock, split_pages

    footer = TextBlock("page 7", 280, 800, 320, 812, role="furniture")
    body = TextBlock("Body text here.", 72, 100, 500, 120)
    md = "".join(document_markdown("T", [(1, page_markdown(1, "Body text here.\n\npage 7", "text_layer",
                                                           [body, footer])), (2, "x")]))
    assert [no for no, _ in split_pages(md)] == [1, 2]
