"""Whatever users drop into the input folder: each file gets a clear result, and no file stops another."""

import io
import os
from pathlib import Path

import polars as pl
import pymupdf
import pytest
from PIL import Image

from pdf_ocr_pipeline.cli import main
from pdf_ocr_pipeline.inbox import document_key

FIXTURES = Path(__file__).parent / "fixtures"
ZERO_PAGES = (b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
              b"2 0 obj <</Type/Pages/Kids[]/Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")


def _pdf_with(build) -> bytes:
    doc = pymupdf.open()
    build(doc)
    return doc.tobytes()


def _image_page(doc, img: Image.Image):
    buf = io.BytesIO()
    img.save(buf, format="PNG" if img.mode != "CMYK" else "JPEG")
    doc.new_page(width=300, height=200).insert_image(pymupdf.Rect(0, 0, 300, 200), stream=buf.getvalue())


def _rotations(doc):
    for angle in (0, 90, 180, 270):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 72), f"Page turned by {angle} degrees", fontsize=14)
        page.set_rotation(angle)


def _mixed_sizes(doc):
    for w, h in [(595, 842), (842, 595), (200, 200), (1190, 1684)]:
        doc.new_page(width=w, height=h).insert_text((20, 40), f"{w} x {h} points", fontsize=12)


def _active_content(doc):
    page = doc.new_page()
    page.insert_text((72, 72), "A document with JavaScript and an attachment", fontsize=12)
    doc.embfile_add("payload.exe", b"MZ not run", filename="payload.exe")
    js = doc.get_new_xref()
    doc.update_object(js, "<</S/JavaScript/JS(app.alert\\('boom'\\);)>>")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{js} 0 R")


def _jbig2() -> bytes:
    """A page whose only content is a JBIG2 image (what scanners make). No JBIG2 encoder is packaged, so the
    stream is built by hand: a page-information segment and an immediate generic region coded with MMR, whose
    data is exactly CCITT Group 4 (taken from a TIFF Pillow writes)."""
    import struct

    from PIL import ImageDraw, ImageOps

    img = Image.new("1", (400, 200), 1)
    ImageDraw.Draw(img).rectangle((40, 40, 240, 120), fill=0)
    buf = io.BytesIO()
    # Group 4 codes 0-bits as white runs; JBIG2 wants ink as 1: invert first.
    ImageOps.invert(img.convert("L")).convert("1").save(buf, format="TIFF", compression="group4",
                                                         tiffinfo={278: img.height})
    tiff = Image.open(io.BytesIO(buf.getvalue()))
    g4 = buf.getvalue()[tiff.tag_v2[273][0]:][:tiff.tag_v2[279][0]]
    w, h = img.size

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    stream = (segment(0, 48, struct.pack(">IIIIBH", w, h, 0, 0, 0, 0))
              + segment(1, 39, struct.pack(">IIIIB", w, h, 0, 0, 0) + b"\x01" + g4))
    doc = pymupdf.open()
    page = doc.new_page(width=w, height=h)
    image = doc.get_new_xref()
    doc.update_object(image, f"<</Type/XObject/Subtype/Image/Width {w}/Height {h}/ColorSpace/DeviceGray"
                             "/BitsPerComponent 1>>")
    doc.update_stream(image, stream, compress=False)
    doc.xref_set_key(image, "Filter", "/JBIG2Decode")
    doc.xref_set_key(page.xref, "Resources", f"<</XObject<</Im0 {image} 0 R>>>>")
    content = doc.get_new_xref()
    doc.update_object(content, "<<>>")
    doc.update_stream(content, f"q {w} 0 0 {h} 0 0 cm /Im0 Do Q".encode())
    doc.xref_set_key(page.xref, "Contents", f"{content} 0 R")
    return doc.tobytes()


def _broken_xref() -> bytes:
    data = (FIXTURES / "A.1.0.pdf").read_bytes()
    head, _, tail = data.rpartition(b"startxref")
    return head + b"startxref\n999999\n%%EOF\n"


def _encrypted(user_pw: str) -> bytes:
    doc = pymupdf.open(FIXTURES / "A.1.0.pdf")
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw=user_pw)


CORPUS = {
    # file name: (bytes, expected error substring or None for success)
    "zero-byte.pdf": (b"", "empty"),
    "random-bytes.pdf": (os.urandom(4096), "not a PDF"),
    "web-page.pdf": (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML page"),
    "zero-pages.pdf": (ZERO_PAGES, "no pages"),
    "locked.pdf": (_encrypted("secret"), "password"),
    "owner-password-only.pdf": (_encrypted(""), None),
    "broken-xref.pdf": (_broken_xref(), None),
    "huge-page.pdf": (_pdf_with(lambda d: d.new_page(width=14400, height=14400)), None),
    "cmyk-image.pdf": (_pdf_with(lambda d: _image_page(d, Image.new("CMYK", (120, 80), (0, 200, 200, 0)))), None),
    "16-bit-image.pdf": (_pdf_with(lambda d: _image_page(d, Image.new("I;16", (120, 80), 40000))), None),
    "jbig2-scan.pdf": (_jbig2(), None),
    "rotated-90-180-270.pdf": (_pdf_with(_rotations), None),
    "mixed-sizes.pdf": (_pdf_with(_mixed_sizes), None),
    "javascript-and-attachment.pdf": (_pdf_with(_active_content), None),
    "Отчёт о проверке.pdf": ((FIXTURES / "A.1.0.pdf").read_bytes(), None),
    "emoji 📄 file.pdf": ((FIXTURES / "A.1.0.pdf").read_bytes(), None),
    ("long-" + "x" * 195 + ".pdf"): ((FIXTURES / "A.1.0.pdf").read_bytes(), None),
    "same content, other name.pdf": ((FIXTURES / "A.1.0.pdf").read_bytes(), None),
}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    inbox, data = tmp / "input", tmp / "data"
    inbox.mkdir()
    for name, (content, _) in CORPUS.items():
        (inbox / name).write_bytes(content)
    (inbox / "notes.txt").write_text("not a PDF, and not named like one: ignored")
    (inbox / "linked.pdf").symlink_to(FIXTURES / "linn.pdf")
    # Policy "text" reads no page with OCR; a preview dpi still renders every page, so rendering is tested too.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PDF_OCR_PREVIEW_DPI", "72")
        code = main(["run", str(inbox), "--data-dir", str(data), "--pages", "text", "--dpi", "72"])
    raw = pl.read_parquet(data / "warehouse" / "raw_pdfs" / "*.parquet")
    return code, {row["file_name"]: row for row in raw.iter_rows(named=True)}, data


def test_every_file_gets_a_row_and_the_exit_status_says_some_failed(corpus_run):
    code, rows, _ = corpus_run
    assert code == 1
    assert set(rows) == set(CORPUS) | {"linked.pdf"}  # notes.txt is not a document


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_file_has_a_clear_outcome(corpus_run, name):
    _, rows, data = corpus_run
    row = rows[name]
    expected = CORPUS[name][1]
    if expected is None:
        assert row["error"] is None, row["error"]
        assert (data / "warehouse" / "ocr_pages" / f"{row['doc_id']}.parquet").is_file()
    else:
        assert expected in row["error"], row["error"]
        assert name in row["error"] and "(" in row["error"]  # names the file and says what to do
        assert not (data / "warehouse" / "ocr_pages" / f"{row['doc_id']}.parquet").exists()


def test_repairs_are_noted(corpus_run):
    _, rows, _ = corpus_run
    assert rows["broken-xref.pdf"]["was_repaired"] and rows["broken-xref.pdf"]["notes"]


def test_huge_pages_are_rendered_within_the_pixel_cap(corpus_run):
    _, rows, data = corpus_run
    page = pl.read_parquet(data / "warehouse" / "rendered_pages" / f"{rows['huge-page.pdf']['doc_id']}.parquet")
    assert page["width_px"][0] * page["height_px"][0] <= 40_000_000


def test_jbig2_pages_render_their_image(corpus_run):
    _, rows, data = corpus_run
    page = pl.read_parquet(data / "warehouse" / "rendered_pages" / f"{rows['jbig2-scan.pdf']['doc_id']}.parquet")
    img = Image.open(io.BytesIO(page["png"][0])).convert("L")
    scale = img.width / 400
    assert img.getpixel((int(100 * scale), int(80 * scale))) < 50  # inside the black box
    assert img.getpixel((int(350 * scale), int(180 * scale))) > 200  # white paper


def test_rotated_pages_keep_their_rotation_and_text(corpus_run):
    _, rows, data = corpus_run
    doc_id = rows["rotated-90-180-270.pdf"]["doc_id"]
    pages = pl.read_parquet(data / "warehouse" / "rendered_pages" / f"{doc_id}.parquet")
    assert pages["rotation"].to_list() == [0, 90, 180, 270]
    assert pages["width_pt"].to_list() == pytest.approx([595, 842, 595, 842])
    text = pl.read_parquet(data / "warehouse" / "ocr_pages" / f"{doc_id}.parquet")["text"].to_list()
    assert all("degrees" in t for t in text)


def test_keys_are_safe_for_odd_names(corpus_run):
    _, rows, _ = corpus_run
    for name, row in rows.items():
        assert row["doc_id"] == document_key(name) or row["doc_id"].startswith(document_key(name))
        assert "/" not in row["doc_id"] and len(row["doc_id"]) <= 100


def test_a_file_deleted_before_its_run(tmp_path: Path, capsys):
    pdf = tmp_path / "gone.pdf"
    pdf.write_bytes((FIXTURES / "A.1.0.pdf").read_bytes())
    from pdf_ocr_pipeline.inbox import DocumentRegistry
    from pdf_ocr_pipeline.pdf.inspect import raw_pdf_row

    DocumentRegistry(tmp_path / "data").register(pdf)
    pdf.unlink()
    row = raw_pdf_row("gone", DocumentRegistry(tmp_path / "data").resolve("gone"))
    assert "not found" in row["error"]
