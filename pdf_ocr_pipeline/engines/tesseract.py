"""Tesseract 5 in-process through tesserocr: the embedded default, one worker per core, no GPU, no network."""

from __future__ import annotations

import glob
import io
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..errors import MissingDependencyError
from .base import Block, OcrPage, PageImage

# Where distributions put the language data (Debian/Ubuntu, Fedora, Homebrew, MacPorts, conda).
TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/*/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
    "/opt/local/share/tessdata",
    "/usr/share/tesseract/tessdata",
)


class TesseractOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    languages: str = "rus+eng"
    tessdata_dir: str | None = None
    workers: Annotated[int, Field(ge=0, le=256, description="0 = one per core")] = 0
    psm: Annotated[int, Field(ge=0, le=13, description="Tesseract page segmentation mode")] = 3
    region_psm: Annotated[int, Field(ge=0, le=13, description=(
        "a second reading of pictures cropped from text pages (diagrams, charts), its confident words joining the "
        "first's where it found none, or replacing less confident ones: 11, sparse text, finds labels that psm 3's "
        "layout analysis takes for part of the drawing (BENCHMARKS.md, 'BPMN detector'); the same as psm: none"))] = 11
    page_timeout_s: Annotated[float, Field(gt=0, le=3600, description="give up on a page after this long")] = 300
    auto_rotate: bool = Field(True, description="a page read with low confidence is checked for sideways or "
                                                "upside-down text (Tesseract OSD) and read again upright")


def find_tessdata(explicit: str | None, languages: str) -> str:
    """The tessdata folder holding every language in ``languages`` (``rus+eng``).

    Raises:
        MissingDependencyError: no folder has them all; the message lists what was looked at.
    """
    wanted = [lang for lang in languages.split("+") if lang]
    candidates = [explicit] if explicit else sorted(
        {p for pattern in TESSDATA_CANDIDATES for p in glob.glob(pattern)}, reverse=True)
    for folder in candidates:
        if folder and all(Path(folder, f"{lang}.traineddata").is_file() for lang in wanted):
            return str(folder)
    looked = ", ".join(candidates) or "(no tessdata folder found)"
    missing_pkgs = " ".join(f"tesseract-ocr-{lang}" for lang in wanted)
    raise MissingDependencyError(
        f"Tesseract language data for {'+'.join(wanted)} not found; looked in: {looked}",
        hint=f"apt-get install tesseract-ocr {missing_pkgs} (or set PDF_OCR_TESSDATA_DIR)",
    )


class TesseractEngine:
    """OCR with Tesseract, in-process. ``ocr_pages`` is thread-safe and runs ``workers`` pages at once.

    Each worker owns one Tesseract instance (they are not thread-safe themselves); tesserocr releases the GIL
    while Tesseract works, so threads use every core. ``OMP_THREAD_LIMIT=1`` stops Tesseract's own OpenMP
    threads from fighting the workers for cores.
    """

    name = "tesseract"

    def __init__(self, options: TesseractOptions | None = None):
        self.options = options or TesseractOptions()
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # must be set before libtesseract loads
        try:
            import tesserocr
        except ImportError as e:
            raise MissingDependencyError("the Python package tesserocr is missing",
                                         hint="pip install tesserocr") from e
        self._tesserocr = tesserocr
        self.tessdata = find_tessdata(self.options.tessdata_dir, self.options.languages)
        self.workers = self.options.workers or os.cpu_count() or 1
        self._apis: queue.SimpleQueue = queue.SimpleQueue()
        self.busy_s = 0.0  # summed over workers: busy_s / (workers x wall time) is the engine's busy share
        self._busy_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tesseract")

    def version(self) -> str:
        return self._tesserocr.tesseract_version().split()[1]

    def cache_identity(self) -> str:
        o = self.options
        return (f"tesseract {self.version()} {o.languages} psm{o.psm} region-psm{o.region_psm}"
                f"{' autorotate' if o.auto_rotate else ''}")

    def _take_api(self):
        try:
            return self._apis.get_nowait()
        except queue.Empty:
            return self._tesserocr.PyTessBaseAPI(path=self.tessdata, lang=self.options.languages,
                                                 psm=self.options.psm)

    def ocr_page(self, page: PageImage) -> OcrPage:
        """OCR one page. Thread-safe. Never raises for a bad image: the error goes into the result.

        A page read with a mean word confidence under ``LOW_CONFIDENCE`` is checked for its text's orientation
        (Tesseract's OSD); text turned by 90, 180 or 270 degrees (a scan fed the wrong way) is read again upright,
        and the words' boxes are turned back into the page's frame.
        """
        from PIL import Image

        started = time.perf_counter()
        api = self._take_api()
        try:
            with Image.open(io.BytesIO(page.png)) as img:
                img.load()
            text, blocks = self._read(api, img, page.dpi, 0)
            if page.kind == "region":  # a picture: labels scattered over a drawing, pools named in vertical text
                text, blocks = self._with_sparse_words(api, img, page.dpi, text, blocks)
                text, blocks = self._with_vertical_words(api, img, page.dpi, text, blocks)
            confidence = _mean_confidence(blocks)
            if self.options.auto_rotate and confidence < LOW_CONFIDENCE:
                angle = self._orientation(img)
                if angle:
                    turned = self._read(api, img.rotate(angle, expand=True), page.dpi, angle)
                    if _mean_confidence(turned[1]) > confidence:
                        text, blocks = turned
            error = None
        except Exception as e:
            text, blocks, error = "", (), f"tesseract failed: {e}"
        finally:
            api.Clear()
            self._apis.put(api)
            with self._busy_lock:
                self.busy_s += time.perf_counter() - started
        confidences = [b.confidence for b in blocks if b.confidence is not None]
        return OcrPage(
            doc_id=page.doc_id, page_no=page.page_no, source="ocr" if error is None else "none",
            engine=self.name, engine_version=self.version(), model=self.options.languages,
            text=_tidy(text), blocks=blocks,
            mean_confidence=sum(confidences) / len(confidences) if confidences else None,
            latency_s=time.perf_counter() - started, error=error,
        )

    def picture_words(self, page: PageImage, blocks: Sequence[Block]) -> tuple[Block, ...]:
        """``blocks`` (a reading of ``page`` as text, psm 3) with what a reading of it as a picture adds: the
        sparse-text and vertical words that ``ocr_page`` finds in a region. For a scanned page found to hold a
        diagram after the OCR stage read it as text (``bpmn.raster.scan_words``)."""
        from PIL import Image

        api = self._take_api()
        try:
            with Image.open(io.BytesIO(page.png)) as img:
                img.load()
            text, out = self._with_sparse_words(api, img, page.dpi, "", tuple(blocks))
            _, out = self._with_vertical_words(api, img, page.dpi, text, out)
        finally:
            api.Clear()
            self._apis.put(api)
        return out

    def _read(self, api, img, dpi: float, angle: int) -> tuple[str, tuple[Block, ...]]:
        """Recognise ``img`` (the page turned counter-clockwise by ``angle``); boxes in the page's own frame."""
        api.SetImage(img)
        api.SetSourceResolution(max(1, int(round(dpi))))
        if not api.Recognize(timeout=int(self.options.page_timeout_s * 1000)):
            raise TimeoutError(f"no result within {self.options.page_timeout_s:g} s")
        try:
            text = api.GetUTF8Text()
        except RuntimeError:  # tesserocr's "No text returned": nothing on the page reads as text (a blank page)
            text = ""
        w, h = (img.height, img.width) if angle in (90, 270) else (img.width, img.height)  # the unturned page
        words = []
        s = 72.0 / dpi  # pixels -> points
        for b in self._words(api):
            x0, y0, x1, y1 = unturn_box((b.x0, b.y0, b.x1, b.y1), angle, w, h)
            words.append(Block(b.label, b.text, x0 * s, y0 * s, x1 * s, y1 * s, b.confidence))
        return text, tuple(words)

    def _with_sparse_words(self, api, img, dpi: float, text: str, blocks: tuple[Block, ...]
                           ) -> tuple[str, tuple[Block, ...]]:
        """``text`` and ``blocks`` with the confident words of a second, sparse-text reading (``region_psm``): each
        one joins where the first reading found no word, or replaces the words it found there when it is more
        confident than all of them. Neither reading finds every label of a diagram: the layout analysis takes
        labels inside boxes for part of the drawing ("‘оценить" for "оценить"), and sparse text can miss a whole
        picture (measured on bpmn-visualization's held-out pictures, BENCHMARKS.md "BPMN detector")."""
        if self.options.region_psm == self.options.psm:
            return text, blocks
        api.SetPageSegMode(self.options.region_psm)
        try:
            _, sparse = self._read(api, img, dpi, 0)
        finally:
            api.SetPageSegMode(self.options.psm)
        confident = [b for b in sparse if (b.confidence or 0) >= SPARSE_MIN_CONFIDENCE
                     and any(ch.isalnum() for ch in b.text)]
        added, replaced = [], set()
        for b in confident:
            under = [i for i, o in enumerate(blocks) if _overlaps((b.x0, b.y0, b.x1, b.y1), (o.x0, o.y0, o.x1, o.y1))]
            if not under:
                added.append(b)
            elif all((blocks[i].confidence or 0) < b.confidence for i in under):
                added.append(b)
                replaced.update(under)
        if not added:
            return text, blocks
        if replaced:
            blocks = tuple(b for i, b in enumerate(blocks) if i not in replaced)
        lines = " ".join(b.text for b in added)
        return (f"{text}\n{lines}" if text else lines), blocks + tuple(added)

    def _with_vertical_words(self, api, img, dpi: float, text: str, blocks: tuple[Block, ...]
                             ) -> tuple[str, tuple[Block, ...]]:
        """``text`` and ``blocks`` with the words the picture holds in vertical text (read bottom to top, as pool
        and lane names are): the picture is read again turned; its confident words standing upright in the
        picture replace what the upright reading made of them (single tall marks), their lines after ``text``."""
        # sparse text: a pool's name stands alone in a narrow strip ruled on both sides, where the page layout
        # analysis (psm 3) finds no text block at all
        api.SetPageSegMode(self._tesserocr.PSM.SPARSE_TEXT)
        try:
            _, turned = self._read(api, img.rotate(270, expand=True), dpi, 270)
        finally:
            api.SetPageSegMode(self.options.psm)
        vertical = [b for b in turned if (b.confidence or 0) >= VERTICAL_MIN_CONFIDENCE
                    and b.y1 - b.y0 > b.x1 - b.x0 and sum(ch.isalpha() for ch in b.text) >= VERTICAL_MIN_LETTERS]
        if not vertical:
            return text, blocks
        # a lane's number ("Дорожка 1") is too short to stand alone: taken where it continues a vertical word
        vertical += [n for n in turned if n.text.isdigit() and (n.confidence or 0) >= VERTICAL_MIN_CONFIDENCE
                     and any(_continues_upwards(v, n) for v in vertical)]
        boxes = [(b.x0, b.y0, b.x1, b.y1) for b in vertical]
        kept = tuple(b for b in blocks if b.x1 - b.x0 >= b.y1 - b.y0
                     or not any(_overlaps((b.x0, b.y0, b.x1, b.y1), v) for v in boxes))
        columns: list[list[Block]] = []  # a vertical line: words in one column, each just above the last
        for b in sorted(vertical, key=lambda b: -b.y1):  # bottom up, as the lines read
            column = next((c for c in columns if _continues_upwards(c[-1], b)), None)
            if column is None:
                columns.append([b])
            else:
                column.append(b)
        columns.sort(key=lambda c: ((c[0].x0 + c[0].x1) / 2, -c[0].y1))
        lines = "\n".join(" ".join(w.text for w in column) for column in columns)
        return (f"{text}\n{lines}" if text else lines), kept + tuple(vertical)

    def _orientation(self, img) -> int:
        """How far the page's text is turned (0, 90, 180, 270: turn the image that far counter-clockwise to
        read it), or 0 when OSD is unsure or unavailable (it needs ``osd.traineddata``)."""
        if not Path(self.tessdata, "osd.traineddata").is_file():
            return 0
        osd = self._tesserocr.PyTessBaseAPI(path=self.tessdata, lang="osd", psm=self._tesserocr.PSM.OSD_ONLY)
        try:
            osd.SetImage(img)
            result = osd.DetectOrientationScript()
        except RuntimeError:  # too little text to decide
            return 0
        finally:
            osd.End()
        if not result or result.get("orient_conf", 0) < MIN_ORIENTATION_CONFIDENCE:
            return 0
        return int(result["orient_deg"]) % 360

    def _words(self, api) -> Iterator[Block]:
        """The recognised words, boxes in pixels of the image."""
        RIL = self._tesserocr.RIL
        it = api.GetIterator()
        if it is None:
            return
        for word in self._tesserocr.iterate_level(it, RIL.WORD):
            try:
                text = word.GetUTF8Text(RIL.WORD)
            except RuntimeError:  # "No text returned": an empty result (a blank page's one empty block)
                continue
            box = word.BoundingBox(RIL.WORD)
            if not text or not text.strip() or box is None:
                continue
            x0, y0, x1, y1 = box
            yield Block("word", text, x0, y0, x1, y1, word.Confidence(RIL.WORD) / 100.0)

    def ocr_pages(self, pages: Iterable[PageImage]) -> Iterator[OcrPage]:
        """OCR pages on all workers, yielding results in input order; at most 2 x workers pages in flight."""
        in_flight: deque[Future] = deque()
        limit = 2 * self.workers
        for page in pages:
            in_flight.append(self._pool.submit(self.ocr_page, page))
            while len(in_flight) >= limit:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        while True:
            try:
                self._apis.get_nowait().End()
            except queue.Empty:
                break


# A table-of-contents line: title, a leader of dots (which Tesseract often reads as a run of dots followed by
# letter-like noise), then the page number at the end of the line.
_LEADER_LINE = re.compile(r"^(?P<title>.*?\S)\s*(?:\.\s?){5,}.{0,80}?\s(?P<page>\d{1,4})$")


def collapse_leaders(line: str) -> str:
    """``"1.1 Таблица записей ....... еее eens 7"`` -> ``"1.1 Таблица записей ... 7"``; other lines unchanged."""
    m = _LEADER_LINE.match(line)
    return f"{m['title']} ... {m['page']}" if m else line


#: Below this mean word confidence a page may be turned: worth checking its orientation.
LOW_CONFIDENCE = 0.7
#: Tesseract's OSD confidence needed before a page is read turned (its scale: about 2 is a guess, 10+ is sure).
MIN_ORIENTATION_CONFIDENCE = 2.0


#: A word read from a picture turned on its side joins the picture's words only this sure: turned, the picture's
#: upright text and its drawing read as words too, mostly under 0.6 (bench/pasted_diagrams.py).
VERTICAL_MIN_CONFIDENCE = 0.75
#: ... and has this many letters: the upright labels of a diagram, turned, read as confident two-letter Latin
#: words ("Bo", "Eo"); vertical labels are names ("Пул", "Дорожка 1").
VERTICAL_MIN_LETTERS = 3
#: a word of a picture's second, sparse-text reading joins the first's at this confidence: the vertical words'
#: bar, not tuned (what the drawing's strokes read as, "|", "—_", stays out)
SPARSE_MIN_CONFIDENCE = VERTICAL_MIN_CONFIDENCE


def _continues_upwards(word: Block, nxt: Block) -> bool:
    """Whether ``nxt`` is the next word of ``word``'s vertical line (read bottom to top): in its column, just above
    it (a line's height is the column's width)."""
    width = word.x1 - word.x0
    return abs((word.x0 + word.x1) / 2 - (nxt.x0 + nxt.x1) / 2) < width / 2 and -width < word.y0 - nxt.y1 < 1.5 * width


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _mean_confidence(blocks: tuple[Block, ...]) -> float:
    values = [b.confidence for b in blocks if b.confidence is not None]
    return sum(values) / len(values) if values else 0.0


def unturn_box(box: tuple[float, float, float, float], angle: int, width: float, height: float
               ) -> tuple[float, float, float, float]:
    """A box found in an image turned counter-clockwise by ``angle`` (PIL's ``rotate(angle, expand=True)``),
    in the frame of the unturned image of ``width`` x ``height``.

    >>> unturn_box((0, 0, 10, 20), 180, 100, 50)
    (90, 30, 100, 50)
    """
    x0, y0, x1, y1 = box
    if angle == 90:  # turned (u, v) came from (width - v, u)
        xs, ys = (width - y1, width - y0), (x0, x1)
    elif angle == 180:
        xs, ys = (width - x1, width - x0), (height - y1, height - y0)
    elif angle == 270:  # turned (u, v) came from (v, height - u)
        xs, ys = (y0, y1), (height - x1, height - x0)
    else:
        return box
    return (min(xs), min(ys), max(xs), max(ys))


def _tidy(text: str) -> str:
    """Tesseract ends every block with blank lines and the page with a form feed; keep paragraphs only."""
    lines = [collapse_leaders(line.rstrip()) for line in text.replace("\f", "").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
