"""Stand-in engines for tests of the code around engines (the real engines have their own tests)."""

from collections.abc import Iterable, Iterator

from pdf_ocr_pipeline.engines.base import Block, OcrPage, PageImage
from pdf_ocr_pipeline.resources import OcrEngineResource


class FakeEngine:
    """Answers every page with a fixed text and remembers what it was asked."""

    name = "fake"

    def __init__(self, fail_pages: tuple[int, ...] = ()):
        self.seen: list[tuple[str, int]] = []
        self.dpis: list[float] = []
        self.fail_pages = fail_pages

    def version(self) -> str:
        return "1"

    def cache_identity(self) -> str:
        return "fake 1"

    def ocr_pages(self, pages: Iterable[PageImage]) -> Iterator[OcrPage]:
        for page in pages:
            self.seen.append((page.doc_id, page.page_no))
            self.dpis.append(page.dpi)
            if page.page_no in self.fail_pages:
                yield OcrPage(page.doc_id, page.page_no, "none", self.name, error="engine crashed on this page")
                continue
            yield OcrPage(page.doc_id, page.page_no, "ocr", self.name, "1", text=f"fake text {page.page_no}",
                          blocks=(Block("word", "fake", 0, 0, 10, 10, 0.9),), mean_confidence=0.9)

    def close(self) -> None:
        pass


#: Every FakeEngine a FakeEngineResource built, so tests can see what reached an engine: Dagster runs a copy
#: of the resource object handed to it, not the object itself.
BUILT: list[FakeEngine] = []


def pages_seen() -> list[tuple[str, int]]:
    return [seen for engine in BUILT for seen in engine.seen]


class FakeEngineResource(OcrEngineResource):
    """The real resource with a fake engine behind it."""

    fail_pages: list[int] = []

    def get_engine(self):
        if self._engine is None:
            self._engine = FakeEngine(fail_pages=tuple(self.fail_pages))
            BUILT.append(self._engine)
        return self._engine
