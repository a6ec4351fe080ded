from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.errors import EncryptedPdfError, InputPdfError
from pdf_ocr_pipeline.pdf.inspect import describe_pdf, open_pdf, raw_pdf_row, text_layer_info


def test_describe_a_real_pdf(fixtures: Path):
    info = describe_pdf(fixtures / "A.1.0.pdf")
    assert info.page_count == 1 and info.bytes == (fixtures / "A.1.0.pdf").stat().st_size
    assert len(info.sha256) == 64 and not info.was_repaired


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"<!DOCTYPE html><html><body>404</body></html>", "HTML page"),
    (bytes(range(256)) * 4, "not a PDF"),
])
def test_bad_files_get_clear_errors(tmp_path: Path, content: bytes, message: str):
    f = tmp_path / "bad.pdf"
    f.write_bytes(content)
    with pytest.raises(InputPdfError, match=message):
        open_pdf(f)


def test_truncated_pdf_is_reported_or_repaired(tmp_path: Path, fixtures: Path):
    data = (fixtures / "A.1.0.pdf").read_bytes()
    f = tmp_path / "cut.pdf"
    f.write_bytes(data[: len(data) // 2])
    # MuPDF rebuilds what it can of a cut file; the row then says it was repaired.
    try:
        info = describe_pdf(f)
    except InputPdfError:
        return
    assert info.was_repaired


def test_encrypted_pdf_needs_a_password_but_owner_only_opens(tmp_path: Path, fixtures: Path):
    src = pymupdf.open(fixtures / "A.1.0.pdf")
    locked, owner_only = tmp_path / "locked.pdf", tmp_path / "owner.pdf"
    src.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    src.save(owner_only, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="")
    with pytest.raises(EncryptedPdfError, match="password"):
        open_pdf(locked)
    assert describe_pdf(owner_only).page_count == 1


def test_raw_pdf_row_records_errors_instead_of_raising(tmp_path: Path):
    f = tmp_path / "empty.pdf"
    f.write_bytes(b"")
    row = raw_pdf_row("empty", f)
    assert "empty" in row["error"] and row["bytes"] == 0
    missing = raw_pdf_row("gone", None)
    assert "no file" in missing["error"]


def test_text_layer_usable_only_where_text_is_real(fixtures: Path):
    with pymupdf.open(fixtures / "A.1.0.pdf") as doc:
        assert text_layer_info(doc[0]).usable  # vector diagram with labels
    with pymupdf.open(fixtures / "linn.pdf") as doc:
        info = text_layer_info(doc[0])
        assert not info.usable and info.image_coverage > 0.9  # a scan
    with pymupdf.open(fixtures / "vector.pdf") as doc:
        assert not text_layer_info(doc[0]).usable  # text drawn as curves
    with pymupdf.open(fixtures / "ru_report_p3-5_7.pdf") as doc:
        assert all(text_layer_info(p).usable for p in doc)


def test_mojibake_text_layer_is_not_usable():
    doc = pymupdf.open()
    page = doc.new_page()
    # What a Cyrillic font without a ToUnicode map gives: cp1251 bytes read as Latin-1.
    page.insert_text((72, 72), "Ìèíèñòåðñòâî íàóêè è âûñøåãî îáðàçîâàíèÿ", fontname="helv")
    info = text_layer_info(page)
    assert info.chars > 16 and not info.usable


def test_pdf_pages_reopens_the_document_and_still_reads_every_page(fixtures: Path, monkeypatch):
    from pdf_ocr_pipeline.pdf import inspect

    monkeypatch.setattr(inspect, "PAGES_PER_REOPEN", 2)
    expected = [page.get_text("text") for page in pymupdf.open(fixtures / "ru_report_p3-5_7.pdf")]
    with inspect.PdfPages(fixtures / "ru_report_p3-5_7.pdf") as pages:
        first = pages.doc
        assert [pages.page(n).get_text("text") for n in (1, 2, 3, 4, 1)] == expected + expected[:1]
        assert pages.doc is not first
