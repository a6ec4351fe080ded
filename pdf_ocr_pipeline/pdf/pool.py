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

#: Worker processes are asked for by the caller (``PDF_OCR_PAGE_WORKERS``, default 1: none); each costs about
#: 0.3 s to start and 110-120 MiB, once per stage, and takes MuPDF's work (which holds the GIL) to another core.
#: Pages a worker has queued or in hand: enough to keep it busy while results are taken in page order.
PAGES_IN_FLIGHT_PER_WORKER = 4
#: Shorter documents are read in this process: starting workers would cost more than they save.
MIN_PAGES_FOR_WORKERS = 200

_worker_pages: PdfPages | None = None  # the document a worker process reads, opened once by _open


Items = Iterable[tuple[int, Any]]


def map_pages(fn: Callable[[pymupdf.Page, Any], T], path: str | os.PathLike,
              items: Items | Callable[[int], Items], workers: int = 1,
              in_process: Callable[[PdfPages, Items], Iterator[T]] | None = None) -> Iterator[T]:
    """``fn(page, arg)`` for every ``(page_no, arg)`` of ``items``, in the order of ``items``.

    Args:
        fn: a module-level function (it is pickled to the workers); ``page`` is valid only during the call.
        path: the PDF.
        items: 1-based page numbers with each page's argument (picklable), consumed lazily; or a function of the
            document's page count that gives them.
        workers: worker processes; with 1 or fewer, or a document under ``MIN_PAGES_FOR_WORKERS`` pages,
            every page is done in this process ...
        in_process: ... by ``in_process(doc, items)`` when given (it yields what ``fn`` would), else by ``fn``.
    Yields:
        ``fn``'s results. What ``fn`` raises is raised here, at that page's turn.
    Raises:
        What ``open_pdf`` raises.
    """
    with PdfPages(path) as doc:
        if callable(items):
            items = items(doc.page_count)
        if workers <= 1 or doc.page_count < MIN_PAGES_FOR_WORKERS:
            if in_process is not None:
                yield from in_process(doc, items)
            else:
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
