"""The HTML report of a real run: one section per document, embedded overlays, .bpmn links, everything escaped."""

import argparse
import base64
import html.parser
import io
import shutil

import polars as pl
import pytest
from PIL import Image

from pdf_ocr_pipeline import cli_views
from pdf_ocr_pipeline.report import build_report, diagram_pages, read_table, write_report

from .viz_support import pipeline_outputs


@pytest.fixture(scope="session")
def outputs(tmp_path_factory):
    return pipeline_outputs(tmp_path_factory)


class Parsed(html.parser.HTMLParser):
    """Collects images, links, headings and text, and fails on markup that does not nest."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.h2, self.text, self._in_h2 = [], [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "a":
            self.links.append(attrs.get("href"))
        elif tag == "h2":
            self._in_h2 = True

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.h2.append(data)


def parse(text: str) -> Parsed:
    p = Parsed()
    p.feed(text)
    p.close()
    return p


def test_report_has_every_document_with_its_overlay(outputs, tmp_path):
    out = write_report(outputs, tmp_path / "report.html")
    doc = parse(out.read_text("utf-8"))
    assert doc.h2 == ["A.1.0", "linn", "ru_report_p3-5_7"]
    text = " ".join(doc.text)
    assert "3 documents, 6 pages" in text and "none failed" in text
    # One overlay per document: the diagram page of A.1.0, the first page of the others.
    assert len(doc.images) == 3
    for img in doc.images:
        assert img["src"].startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])))
        assert image.format == "PNG" and image.width > 100
        assert img["alt"].endswith("with OCR blocks and BPMN elements")
    # Speed and sources from run_metrics and ocr_pages.
    assert "ocr_pages" in text and "tesseract" in text and "rendered_pages" in text


def test_diagram_pages_link_their_bpmn_files_relative_to_the_report(outputs, tmp_path):
    assert diagram_pages(outputs) == {"A.1.0": [1]}
    out = write_report(outputs, tmp_path / "sub" / "report.html")
    doc = parse(out.read_text("utf-8"))
    bpmn = [href for href in doc.links if href and href.endswith(".bpmn")]
    assert len(bpmn) == 1
    target = (out.parent / bpmn[0]).resolve()
    assert target == (outputs / "warehouse" / "bpmn" / "A.1.0" / "page-1.bpmn").resolve() and target.is_file()
    text = " ".join(doc.text)
    assert "task: 3" in text and "BPMN XML valid" in text and "Diagram pages: 1" in text
    # every document links its Markdown (document_markdown), relative to the report too
    markdown = [href for href in doc.links if href and href.endswith(".md")]
    assert len(markdown) == len(list((outputs / "warehouse" / "markdown").glob("*.md"))) >= 1
    assert all((out.parent / href).resolve().is_file() for href in markdown)


def test_user_data_is_escaped(outputs, tmp_path):
    # A document whose key, file name, error and element labels carry markup.
    data = tmp_path / "data"
    shutil.copytree(outputs, data)
    evil = '<script>alert("x")</script>&'
    raw = pl.read_parquet(data / "warehouse" / "raw_pdfs" / "linn.parquet")
    raw.with_columns(pl.lit(f"{evil}.pdf").alias("file_name"), pl.lit(evil).alias("error")).write_parquet(
        data / "warehouse" / "raw_pdfs" / "linn.parquet")
    pages = pl.read_parquet(data / "warehouse" / "ocr_pages" / "ru_report_p3-5_7.parquet")
    pages.with_columns(pl.when(pl.col("page_no") == 2).then(pl.lit(evil)).otherwise(None).alias("error")) \
        .write_parquet(data / "warehouse" / "ocr_pages" / "ru_report_p3-5_7.parquet")
    elements = data / "warehouse" / "bpmn_elements"
    elements.mkdir(parents=True, exist_ok=True)
    pl.DataFrame([{"doc_id": "linn", "page_no": 1, "type": evil, "label": evil, "x0": 1.0, "y0": 1.0, "x1": 9.0,
                   "y1": 9.0}]).write_parquet(elements / "linn.parquet")
    text = build_report(data, links_relative_to=tmp_path)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in text
    doc = parse(text)
    assert f"Document error: {evil}" in " ".join(doc.text)
    assert f"page 2: {evil}" in " ".join(doc.text)
    assert "1 failed" in " ".join(doc.text)


def test_overlays_are_capped(outputs):
    doc = parse(build_report(outputs, max_overlays=1))
    assert len(doc.images) == 1
    assert "overlay left out" in " ".join(doc.text)


def test_read_table_stacks_files_with_different_columns(tmp_path):
    folder = tmp_path / "warehouse" / "bpmn_models"
    folder.mkdir(parents=True)
    pl.DataFrame({"doc_id": ["a"], "page_no": [1]}).write_parquet(folder / "a.parquet")
    pl.DataFrame({"doc_id": ["b"], "page_no": [2], "valid": [True]}).write_parquet(folder / "b.parquet")
    frame = read_table(tmp_path, "bpmn_models")
    assert frame.sort("doc_id").to_dicts() == [{"doc_id": "a", "page_no": 1, "valid": None},
                                               {"doc_id": "b", "page_no": 2, "valid": True}]
    assert read_table(tmp_path, "nothing") is None


def test_empty_data_dir(tmp_path):
    assert "No documents in this data directory yet" in build_report(tmp_path)


def cli(argv):
    p = argparse.ArgumentParser(prog="pdf-ocr")
    sub = p.add_subparsers(dest="command", required=True)
    cli_views.add_report_parser(sub)
    args = p.parse_args(argv)
    return args.func(args)


def test_cli_report(outputs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli(["report", "--data-dir", str(outputs), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out) and out.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert cli(["report", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "no outputs in" in capsys.readouterr().err
