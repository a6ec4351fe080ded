"""Per-page work on one PDF spread over a few worker processes: results in page order, a bounded number of pages
in flight (memory stays flat in page count). No Dagster here."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

import pymupdf

from .inspect import PdfPages

T = TypeVar("T")

#: Worker processes for per-page work (MuPDF and OpenCV hold the GIL or run single-threaded: threads would not
#: help). Each costs about 0.3 s to start and 70-100 MiB, once per stage.
PAGE_WORKERS = min(2, os.cpu_count() or 1)
#: Pages a worker has queued or in hand: enough to keep it busy while results are taken in page order.
PAGES_IN_FLIGHT_PER_WORKER = 4
#: Shorter documents are read in this process: starting workers would cost more than they save.
MIN_PAGES_FOR_WORKERS = 200

_worker_pages: PdfPages | None = None  # the document a worker process reads, opened once by _open


def map_pages(fn: Callable[[pymupdf.Page, Any], T], path: str | os.PathLike, items: Iterable[tuple[int, Any]],
              workers: int = PAGE_WORKERS) -> Iterator[T]:
    """``fn(page, arg)`` for every ``(page_no, arg)`` of ``items``, in the order of ``items``.

    Args:
        fn: a module-level function (it is pickled to the workers); ``page`` is valid only during the call.
        path: the PDF.
        items: 1-based page numbers with each page's argument (picklable), consumed lazily.
        workers: worker processes; with 1 or fewer, or a document under ``MIN_PAGES_FOR_WORKERS`` pages,
            every page is done in this process.
    Yields:
        ``fn``'s results. What ``fn`` raises is raised here, at that page's turn.
    Raises:
        What ``open_pdf`` raises.
    """
    with PdfPages(path) as doc:
        if workers <= 1 or doc.page_count < MIN_PAGES_FOR_WORKERS:
            for page_no, arg in items:
                yield fn(doc.page(page_no), arg)
            return
    # spawn, not fork: the parent may run threads (Dagster, OCR engines), and MuPDF's state is not fork-safe
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_open,
                               initargs=(str(path),))
    pending: deque[Future] = deque()
    try:
        for page_no, arg in items:
            pending.append(pool.submit(_call, fn, page_no, arg))
            if len(pending) >= workers * PAGES_IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _open(path: str) -> None:
    global _worker_pages
    _worker_pages = PdfPages(path)


def _call(fn: Callable[[pymupdf.Page, Any], T], page_no: int, arg: Any) -> T:
    return fn(_worker_pages.page(page_no), arg)
