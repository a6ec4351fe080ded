"""Documents and their keys: readable partition keys from file names, and the registry key -> file.

A key is the file name without ``.pdf``, kept as is when it is already safe (letters of any script, digits,
``-``, ``_``, ``.``, ``+``), otherwise made safe and given a short hash of the original name so that different
names never meet on one key. The registry (one small JSON file per key under ``<data_dir>/registry``) remembers
which file a key stands for, so a run started from the UI, the sensor or the CLI finds the same file.
No Dagster here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_KEY_CHARS = 80
_UNSAFE = re.compile(r"[^\w\-.+]+")
_SAFE_KEY = re.compile(r"[\w\-.+]+")


def document_key(file_name: str) -> str:
    """A readable, stable partition key for a file name.

    Args:
        file_name: the file's name (a path is reduced to its name).
    Returns:
        The key: ``"A.1.0"`` for ``A.1.0.pdf``; ``"Отчёт_по_работе-3f2a9c1b"`` for ``Отчёт по работе.pdf``.
    """
    name = unicodedata.normalize("NFC", Path(file_name).name)
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    safe = _UNSAFE.sub("_", stem).strip("._-+") or "document"
    if safe == stem and len(safe) <= MAX_KEY_CHARS and not safe.startswith("."):
        return safe
    digest = hashlib.sha1(stem.encode("utf-8")).hexdigest()[:8]
    return f"{safe[:MAX_KEY_CHARS]}-{digest}"


def is_safe_key(doc_id: str) -> bool:
    """A key that can name a file in the data directory and nothing outside it."""
    return bool(_SAFE_KEY.fullmatch(doc_id)) and not doc_id.startswith(".") and len(doc_id) <= 200


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def list_pdfs(folder: str | os.PathLike) -> list[Path]:
    """PDF files directly in ``folder`` (by extension, any case), sorted; hidden and partial files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith(".") or not entry.name.lower().endswith(".pdf"):
                continue
            if entry.is_file():  # follows symlinks
                out.append(Path(entry.path))
    return sorted(out)


class DocumentRegistry:
    """Maps document keys to files. Safe for several processes: one file per key, written atomically."""

    def __init__(self, data_dir: str | os.PathLike):
        self.dir = Path(data_dir) / "registry"

    def _entry(self, doc_id: str) -> Path:
        if not is_safe_key(doc_id):
            raise ValueError(f"unsafe document key {doc_id!r}")
        return self.dir / f"{doc_id}.json"

    def resolve(self, doc_id: str) -> Path | None:
        entry = self._entry(doc_id)
        if not entry.is_file():
            return None
        return Path(json.loads(entry.read_text("utf-8"))["path"])

    def register(self, path: str | os.PathLike) -> str:
        """The key for ``path``, recorded in the registry; a second file with the same name gets its own key."""
        path = Path(path).absolute()
        key = document_key(path.name)
        known = self.resolve(key)
        if known is not None and known != path:
            key = f"{key}-{hashlib.sha1(str(path).encode('utf-8')).hexdigest()[:8]}"
            known = self.resolve(key)
        if known != path:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"doc_id": key, "path": str(path)}, fh, ensure_ascii=False)
            os.replace(tmp, self._entry(key))
        return key

    def find(self, doc_id: str, inbox_dir: str | os.PathLike) -> Path | None:
        """The registered file for ``doc_id``, else a file in the inbox whose name gives that key."""
        if not is_safe_key(doc_id):
            return None
        path = self.resolve(doc_id)
        if path is not None:
            return path
        for candidate in list_pdfs(inbox_dir):
            if document_key(candidate.name) == doc_id:
                return candidate
        return None


@dataclass(frozen=True)
class ReadyFile:
    """A file in the inbox that stopped changing and has content not processed before."""

    path: Path
    sha256: str


def scan_inbox(folder: str | os.PathLike, state: dict, now_ns: int, min_age_s: float,
               hasher=file_sha256, max_ready: int | None = None) -> tuple[dict, list[ReadyFile], list[str]]:
    """Decide which inbox files to process on this sensor tick. Pure but for reading the folder.

    A file is ready once it has stopped changing: the same size and mtime as on the previous tick, or an mtime
    at least ``min_age_s`` old. Only files whose size or mtime changed since they were last processed are
    hashed, and only content not processed before is ready (a touched but unchanged file is not).

    Args:
        folder: the inbox.
        state: the previous tick's state (``{}`` at first): ``seen`` {name: [size, mtime_ns]} and ``done``
            {name: [size, mtime_ns, sha256]}.
        now_ns: the current time, ns since the epoch.
        min_age_s: age after which an unchanged-looking file counts as complete.
        hasher: computes a file's sha256 (for tests).
        max_ready: hash at most this many files on one tick (a busy inbox keeps ticks short; the rest are
            taken on later ticks).
    Returns:
        (new state, ready files, problems as human-readable lines). Never raises for one bad file.
    """
    seen_before = state.get("seen", {})
    done = dict(state.get("done", {}))
    seen: dict[str, list[int]] = {}
    ready: list[ReadyFile] = []
    problems: list[str] = []
    hashed = 0
    for path in list_pdfs(folder):
        try:
            st = path.stat()
        except OSError as e:
            problems.append(f"{path.name}: cannot read ({e.strerror or e}); skipped")
            continue
        sig = [st.st_size, st.st_mtime_ns]
        seen[path.name] = sig
        previous = done.get(path.name)
        if previous is not None and previous[:2] == sig:
            continue
        stable = seen_before.get(path.name) == sig or (now_ns - st.st_mtime_ns) / 1e9 >= min_age_s
        if not stable:
            continue
        if max_ready is not None and hashed >= max_ready:
            continue  # still stable on the next tick, taken then
        hashed += 1
        try:
            sha = hasher(path)
        except OSError as e:
            problems.append(f"{path.name}: cannot read ({e.strerror or e}); will retry")
            continue
        done[path.name] = [*sig, sha]
        if previous is not None and previous[2] == sha:
            continue
        ready.append(ReadyFile(path, sha))
    done = {name: v for name, v in done.items() if name in seen}
    return {"seen": seen, "done": done}, ready, problems


def pdf_header_problem(path: str | os.PathLike) -> str | None:
    """A quick look at the first bytes: a reason the file is surely not a PDF, or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    if not head:
        return "empty file"
    if b"%PDF-" not in head:
        return "not a PDF (no %PDF- header)"
    return None
