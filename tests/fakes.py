"""Stand-ins for tests of the code around engines (the real engines have their own tests): an engine, and the
HTTP side of an OpenAI-compatible vLLM server."""

import json
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler

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


class OpenAIServerStandIn(BaseHTTPRequestHandler):
    """What a vLLM server answers on ``GET /v1/models``; subclasses answer ``POST /v1/chat/completions``."""

    model = "deepseek-ai/DeepSeek-OCR"

    def log_message(self, *args):
        pass

    def send_json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send_json({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    def read_body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def completion(self, content: str, prompt_tokens: int, completion_tokens: int) -> dict:
        return {"id": "chatcmpl-1", "object": "chat.completion", "model": self.model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}
