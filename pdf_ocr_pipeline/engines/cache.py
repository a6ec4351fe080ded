"""Per-page OCR cache: a re-run or retry redoes only pages whose result is missing.

Keyed by (image sha256, engine identity: engine, version, model, prompt, parameters). One small JSON file per
page under ``<data_dir>/cache/ocr/``, written atomically, so a killed run keeps every page it finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from .base import OcrPage


class PageCache:
    """Thread-safe (one file per key, atomic rename)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @staticmethod
    def key(image_sha256: str, identity: str) -> str:
        return hashlib.sha256(f"{image_sha256}\n{identity}".encode()).hexdigest()

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, doc_id: str, page_no: int) -> OcrPage | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return OcrPage.from_row({**data, "doc_id": doc_id, "page_no": page_no, "cached": True, "attempts": 0})

    def put(self, key: str, page: OcrPage) -> None:
        if page.error is not None:
            return  # failures are retried next time, never cached
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        row = page.to_row()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(row, fh, ensure_ascii=False)
        os.replace(tmp, path)
