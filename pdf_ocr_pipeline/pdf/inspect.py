"""Open and validate a PDF, describe it, and judge whether a page's text layer can stand in for OCR."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from ..errors import EncryptedPdfError, InputPdfError, PipelineError
from ..inbox import file_sha256
from .layer_judge import KIND_BORN_DIGITAL, KIND_NONE, KIND_TRACE_COVERAGE, judge, layer_kind
from .text import text_page

# A page's text layer replaces OCR when it has at least this many characters ...
MIN_TEXT_CHARS = 16
# ... and at most this share of them is garbage (replacement, private-use or control characters, mojibake) ...
MAX_GARBAGE_SHARE = 0.10
# ... unless raster images cover this much of the page and the text does not lie over them (a scan with a
# caption, or an embedded diagram image: the words are in the pixels, not in the text layer).
IMAGE_DOMINANT_COVERAGE = 0.5
MIN_CHARS_OVER_IMAGES = 100
# ... and its words are plausible for the document's languages (``layer_judge.judge``: an invisible OCR layer read
# in the wrong alphabet, a broken font encoding).

#: ``TextLayerInfo.verdict``: the layer is used, or the first rule it fails (the judge's own reason comes last).
VERDICT_KEPT = "kept"
VERDICT_TOO_LITTLE_TEXT = "too little text"
VERDICT_GARBAGE = "garbage characters"
VERDICT_PICTURES = "pictures without text over them"


# MuPDF prints repairs and broken objects on stderr by default; we collect them into raw_pdfs.notes instead.
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


#: MuPDF caches decoded fonts and images in one store shared by all documents, up to 256 MB: emptying it every
#: few pages keeps memory flat (2,000 pages: 90 MB instead of 330 MB) for a small cost in re-decoding.
PAGES_PER_STORE_RELEASE = 16


#: MuPDF also keeps every object it has parsed (page dictionaries, resources) while the document is open: about
#: 3.5 KiB a page. Reopening the document every so many pages keeps that flat too (2,000 pages: 7 MiB less).
PAGES_PER_REOPEN = 256


def release_mupdf_store(pages_done: int) -> None:
    """Empty MuPDF's cache every ``PAGES_PER_STORE_RELEASE`` pages (call it with a running page count)."""
    if pages_done % PAGES_PER_STORE_RELEASE == 0:
        pymupdf.TOOLS.store_shrink(100)


class PdfPages:
    """A PDF read page after page with flat memory, for any page count: MuPDF's store is emptied every
    ``PAGES_PER_STORE_RELEASE`` pages and the document reopened every ``PAGES_PER_REOPEN`` pages.

    ``page(n)`` returns page ``n`` (1-based); it stays valid until the next ``page`` call. Not thread-safe.
    Raises what ``open_pdf`` raises.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = path
        self.doc = open_pdf(path)
        self._served = 0

    @property
    def page_count(self) -> int:
        return self.doc.page_count

    def page(self, page_no: int) -> pymupdf.Page:
        self._served += 1
        release_mupdf_store(self._served)
        if self._served % PAGES_PER_REOPEN == 0:
            self.doc.close()
            self.doc = open_pdf(self.path)
        return self.doc[page_no - 1]

    def close(self) -> None:
        self.doc.close()

    def __enter__(self) -> "PdfPages":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class PdfInfo:
    file_name: str
    path: str
    sha256: str
    bytes: int
    page_count: int
    pdf_version: str | None
    metadata: dict = field(default_factory=dict)
    was_repaired: bool = False
    is_encrypted: bool = False
    notes: str = ""


@dataclass(frozen=True)
class TextLayerInfo:
    """What a page's text layer holds and whether it can stand in for OCR (``usable``, ``verdict``).

    ``kind``: "none", "born_digital" or "invisible_ocr" (``layer_judge.layer_kind``); ``score``: how plausible its
    words are for the document's languages (``layer_judge.plausibility``; None when not scored: too little text
    or too few words); ``words_scored``: the words the score counts; ``plausible``: False when the words failed
    ``layer_judge.judge``, whose reason is in ``judgement``.
    """
    chars: int
    garbage_share: float
    image_coverage: float
    chars_over_images: int
    kind: str = KIND_NONE
    score: float | None = None
    words_scored: int = 0
    plausible: bool = True
    judgement: str = ""

    @property
    def verdict(self) -> str:
        """``VERDICT_KEPT``, or why the layer is not usable: ``VERDICT_TOO_LITTLE_TEXT``, ``VERDICT_GARBAGE``,
        ``VERDICT_PICTURES``, or the judge's reason ("invisible OCR layer implausible for rus+eng (score 0.08)")."""
        if self.chars < MIN_TEXT_CHARS:
            return VERDICT_TOO_LITTLE_TEXT
        if self.garbage_share > MAX_GARBAGE_SHARE:
            return VERDICT_GARBAGE
        if self.image_coverage >= IMAGE_DOMINANT_COVERAGE and self.chars_over_images < MIN_CHARS_OVER_IMAGES:
            return VERDICT_PICTURES
        if not self.plausible:
            return self.judgement
        return VERDICT_KEPT

    @property
    def usable(self) -> bool:
        return self.verdict == VERDICT_KEPT


def layer_replaced(info: TextLayerInfo) -> bool:
    """Whether the page has a text layer that was judged poor (garbage characters, or words implausible for the
    document's languages: an earlier OCR in the wrong alphabet), so OCR reads the page instead."""
    return verdict_replaces_layer(info.chars, info.verdict)


def verdict_replaces_layer(chars: int | None, verdict: str | None) -> bool:
    """``layer_replaced`` from what ``rendered_pages`` records of a page (``text_chars``, ``text_layer_verdict``)."""
    return (chars or 0) >= MIN_TEXT_CHARS and (verdict == VERDICT_GARBAGE or " implausible " in (verdict or ""))


def open_pdf(path: str | os.PathLike) -> pymupdf.Document:
    """Open a PDF for reading, with a clear error for every way it can be unreadable.

    Args:
        path: the file.
    Returns:
        The open document (owner-password-only files are opened; they need no password to read).
    Raises:
        InputPdfError: missing, empty, not a PDF, damaged beyond repair, or without pages.
        EncryptedPdfError: a password is needed to open it.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except FileNotFoundError as e:
        raise InputPdfError(f"{path.name}: file not found (moved or deleted?)") from e
    except OSError as e:
        raise InputPdfError(f"{path.name}: cannot read the file: {e.strerror or e}") from e
    if size == 0:
        raise InputPdfError(f"{path.name}: the file is empty (0 bytes)")
    if b"%PDF-" not in head:
        raise InputPdfError(f"{path.name}: not a PDF (it starts with {_describe_head(head)})")
    pymupdf.TOOLS.mupdf_warnings(reset=True)
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as e:  # MuPDF raises its own error types; all of them mean the same to the user
        raise InputPdfError(f"{path.name}: cannot open as PDF: {e}") from e
    if doc.needs_pass and not doc.authenticate(""):
        doc.close()
        raise EncryptedPdfError(f"{path.name}: the PDF is password-protected")
    if doc.page_count == 0:
        doc.close()
        raise InputPdfError(f"{path.name}: the PDF has no pages")
    return doc


def describe_pdf(path: str | os.PathLike, max_pages: int | None = None) -> PdfInfo:
    """Facts about a PDF for the ``raw_pdfs`` table.

    Raises:
        What ``open_pdf`` raises, and InputPdfError when the document has more than ``max_pages`` pages.
    """
    path = Path(path)
    sha = file_sha256(path) if path.is_file() else ""
    with open_pdf(path) as doc:
        if max_pages is not None and doc.page_count > max_pages:
            raise InputPdfError(f"{path.name}: {doc.page_count} pages, more than the limit of {max_pages}",
                                hint="raise PDF_OCR_MAX_PAGES to process it")
        notes = " | ".join(line for line in pymupdf.TOOLS.mupdf_warnings().splitlines() if line.strip())[:2000]
        meta = {k: v for k, v in (doc.metadata or {}).items() if v}
        return PdfInfo(
            file_name=path.name,
            path=str(path.absolute()),
            sha256=sha,
            bytes=path.stat().st_size,
            page_count=doc.page_count,
            pdf_version=meta.get("format"),
            metadata=meta,
            was_repaired=bool(doc.is_repaired),
            is_encrypted=bool(doc.is_encrypted or meta.get("encryption")),
            notes=notes,
        )


def metadata_json(info: PdfInfo) -> str:
    return json.dumps(info.metadata, ensure_ascii=False, sort_keys=True)


def text_layer_info(page: pymupdf.Page, languages: str = "rus+eng") -> TextLayerInfo:
    """How much usable text a page's text layer holds, how much of the page is raster images, what made the
    layer and how plausible its words are.

    Args:
        page: the page.
        languages: the document's languages, Tesseract codes joined by '+' (the words are judged against them).
    Returns:
        The counts and the verdict; ``usable`` says whether the layer can stand in for OCR.
    """
    area = abs(page.rect) or 1.0
    image_rects = []
    unrotated = page.rect * page.derotation_matrix  # image and word boxes come in the unrotated frame
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"]) & unrotated
        if not r.is_empty:
            image_rects.append(tuple(r))
    coverage = min(1.0, sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in image_rects) / area)
    textpage = text_page(page)  # one extraction for the words and the text
    chars = garbage = over_images = 0
    words = []
    for x0, y0, x1, y1, word, *_ in page.get_text("words", textpage=textpage):
        words.append(word)
        n = sum(1 for ch in word if not ch.isspace())
        chars += n
        if not word.isalnum():  # letters and digits are never garbage: skip the per-character look
            garbage += sum(1 for ch in word if _is_garbage(ch))
        if image_rects:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2  # the centre inside a box as MuPDF tests it, on plain floats
            if any(rx0 <= cx < rx1 and ry0 <= cy < ry1 for rx0, ry0, rx1, ry1 in image_rects):
                over_images += n
    letters_latin1 = 0
    # Mojibake (a Cyrillic font without a ToUnicode map read as Latin-1) shows as a flood of À..ÿ letters.
    text = page.get_text("text", textpage=textpage)
    letters = [ch for ch in text if ch.isalpha()]
    if letters:
        letters_latin1 = sum(1 for ch in letters if "\u00c0" <= ch <= "\u00ff")
        if letters_latin1 / len(letters) > 0.3:
            garbage = max(garbage, letters_latin1)
    share = garbage / chars if chars else 0.0
    if not chars:
        kind = KIND_NONE
    elif coverage >= KIND_TRACE_COVERAGE:  # tracing costs a third of this function: only where a scan may lie
        kind = layer_kind(page)
        if kind == KIND_NONE:  # words the trace did not see: count them as drawn
            kind = KIND_BORN_DIGITAL
    else:
        kind = KIND_BORN_DIGITAL
    score, scored, plausible, judgement = None, 0, True, ""
    if chars >= MIN_TEXT_CHARS:
        verdict = judge(kind, words, languages)
        score, scored, plausible, judgement = verdict.score, verdict.words_scored, verdict.trusted, verdict.reason
    return TextLayerInfo(chars=chars, garbage_share=share, image_coverage=coverage, chars_over_images=over_images,
                         kind=kind, score=score, words_scored=scored, plausible=plausible, judgement=judgement)


def _is_garbage(ch: str) -> bool:
    if ch == "\ufffd":
        return True
    cat = unicodedata.category(ch)
    return cat in ("Co", "Cc", "Cs", "Cn")


def _describe_head(head: bytes) -> str:
    text = head[:64].lstrip()
    low = text.lower()
    if low.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if text.startswith(b"PK"):
        return "a ZIP archive (Office document?)"
    if text.startswith(b"\x89PNG") or text.startswith(b"\xff\xd8"):
        return "an image"
    printable = text[:16].decode("latin-1")
    return repr(printable)


def raw_pdf_row(doc_id: str, path: str | os.PathLike | None, max_pages: int | None = None) -> dict:
    """The ``raw_pdfs`` row for a document: facts about the file, or why it cannot be processed.

    Never raises for a bad file: the error goes into the row, where the UI, the CLI and notebooks show it.
    """
    row: dict = {"doc_id": doc_id, "ingested_at": datetime.now(timezone.utc), "error": None}
    if path is None:
        row["error"] = (f"no file for document {doc_id!r}: put it in the input folder or run "
                        "`pdf-ocr run FILE` to register it")
        return row
    path = Path(path)
    row.update(file_name=path.name, path=str(path.absolute()))
    try:
        info = describe_pdf(path, max_pages)
    except PipelineError as e:
        row["error"] = str(e)
        if path.is_file():
            row.update(bytes=path.stat().st_size, sha256=file_sha256(path), page_count=0)
        return row
    row.update(
        sha256=info.sha256, bytes=info.bytes, page_count=info.page_count, pdf_version=info.pdf_version,
        title=info.metadata.get("title"), author=info.metadata.get("author"),
        creator=info.metadata.get("creator"), producer=info.metadata.get("producer"),
        metadata_json=metadata_json(info), was_repaired=info.was_repaired, is_encrypted=info.is_encrypted,
        notes=info.notes or None,
    )
    return row
