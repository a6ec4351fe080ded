import os
import time
from pathlib import Path

from pdf_ocr_pipeline.inbox import DocumentRegistry, document_key, pdf_header_problem, scan_inbox


def test_clean_names_are_kept_as_keys():
    assert document_key("A.1.0.pdf") == "A.1.0"
    assert document_key("report_2024-01.PDF") == "report_2024-01"
    assert document_key("Отчёт.pdf") == "Отчёт"


def test_unsafe_names_get_a_readable_key_and_a_hash():
    key = document_key("Отчёт по работе (ГОСТ 7.32).pdf")
    assert key.startswith("Отчёт_по_работе_ГОСТ_7.32-")
    assert len(key.rsplit("-", 1)[1]) == 8
    # different originals never share a key, even when they clean up the same way
    assert document_key("a b.pdf") != document_key("a_b.pdf") != document_key("a  b.pdf")
    # no key can leave the data directory
    for name in ["../../etc/passwd.pdf", "..pdf", ".hidden.pdf", "a/b.pdf", "x" * 300 + ".pdf", "📄 emoji.pdf"]:
        key = document_key(name)
        assert "/" not in key and not key.startswith(".") and 0 < len(key) <= 90


def test_keys_are_stable_and_normalised():
    decomposed = "Отче\u0308т.pdf"  # ё as е + combining diaeresis (macOS file names)
    assert document_key(decomposed) == document_key("Отчёт.pdf") == "Отчёт"


def test_registry_gives_same_named_files_their_own_keys(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "doc.pdf", tmp_path / "b" / "doc.pdf"
    one.write_bytes(b"%PDF-1.4")
    two.write_bytes(b"%PDF-1.4")
    registry = DocumentRegistry(tmp_path / "data")
    k1, k2 = registry.register(one), registry.register(two)
    assert k1 == "doc" and k2.startswith("doc-") and k1 != k2
    assert registry.register(one) == k1 and registry.register(two) == k2  # stable
    assert registry.resolve(k1) == one.absolute() and registry.resolve(k2) == two.absolute()


def test_registry_finds_unregistered_inbox_files(tmp_path: Path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "Скан 1.pdf").write_bytes(b"%PDF-1.4")
    registry = DocumentRegistry(tmp_path / "data")
    assert registry.find(document_key("Скан 1.pdf"), inbox) == inbox / "Скан 1.pdf"
    assert registry.find("missing", inbox) is None


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_scan_inbox_waits_for_files_to_stop_changing(inbox: Path):
    f = inbox / "new.pdf"
    f.write_bytes(b"%PDF-1.4 partial")
    state, ready, _ = scan_inbox(inbox, {}, time.time_ns(), min_age_s=60)
    assert ready == []  # fresh and not seen before: maybe still being copied
    f.write_bytes(b"%PDF-1.4 partial, more")
    state, ready, _ = scan_inbox(inbox, state, time.time_ns(), min_age_s=60)
    assert ready == []  # it grew since the last tick
    state, ready, _ = scan_inbox(inbox, state, time.time_ns(), min_age_s=60)
    assert [r.path.name for r in ready] == ["new.pdf"]  # unchanged for a tick: complete


def test_scan_inbox_old_files_are_ready_at_once_and_only_once(inbox: Path):
    f = inbox / "old.pdf"
    f.write_bytes(b"%PDF-1.4 a")
    _age(f, 120)
    state, ready, _ = scan_inbox(inbox, {}, time.time_ns(), min_age_s=10)
    assert len(ready) == 1 and len(ready[0].sha256) == 64
    state, ready, _ = scan_inbox(inbox, state, time.time_ns(), min_age_s=10)
    assert ready == []


def test_scan_inbox_touched_file_is_not_ready_changed_file_is(inbox: Path):
    f = inbox / "doc.pdf"
    f.write_bytes(b"%PDF-1.4 a")
    _age(f, 120)
    state, ready, _ = scan_inbox(inbox, {}, time.time_ns(), min_age_s=10)
    first_sha = ready[0].sha256
    _age(f, 60)  # touched, same bytes
    state, ready, _ = scan_inbox(inbox, state, time.time_ns(), min_age_s=10)
    assert ready == []
    f.write_bytes(b"%PDF-1.4 b")
    _age(f, 30)
    state, ready, _ = scan_inbox(inbox, state, time.time_ns(), min_age_s=10)
    assert len(ready) == 1 and ready[0].sha256 != first_sha


def test_scan_inbox_ignores_other_files_and_survives_unreadable_ones(inbox: Path):
    (inbox / "notes.txt").write_text("x")
    (inbox / ".~lock.doc.pdf").write_text("x")
    (inbox / "dangling.pdf").symlink_to(inbox / "nowhere.pdf")
    good = inbox / "good.pdf"
    good.write_bytes(b"%PDF-1.4")
    _age(good, 100)

    def flaky_hash(path):
        raise PermissionError(13, "Permission denied")

    state, ready, problems = scan_inbox(inbox, {}, time.time_ns(), 10, hasher=flaky_hash)
    assert ready == [] and problems and "good.pdf" in problems[0]
    state, ready, problems = scan_inbox(inbox, state, time.time_ns(), 10)
    assert [r.path.name for r in ready] == ["good.pdf"] and problems == []


def test_pdf_header_problem(tmp_path: Path):
    empty, html, ok = tmp_path / "e.pdf", tmp_path / "h.pdf", tmp_path / "ok.pdf"
    empty.write_bytes(b"")
    html.write_bytes(b"<!DOCTYPE html><html></html>")
    ok.write_bytes(b"%PDF-1.7\n")
    assert pdf_header_problem(empty) == "empty file"
    assert "not a PDF" in pdf_header_problem(html)
    assert pdf_header_problem(ok) is None
