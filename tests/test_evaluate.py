"""``pdf-ocr eval``: page kinds, the seeded sample, CER/WER, and real Tesseract against real text layers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pymupdf
import pytest

from pdf_ocr_pipeline.cli import main
from pdf_ocr_pipeline.evaluate import (
    Setting, cer, evaluate, normalise, page_kind, recommend, sample_pages, summarise, wer,
)

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = FIXTURES / "ru_report_p3-5_7.pdf"  # abstract, contents, introduction, section 1.1
PICTURES = FIXTURES / "ru_report_p14_18.pdf"  # every page holds screenshots with text the layer lacks
DIAGRAM = FIXTURES / "A.1.0.pdf"


def test_page_kinds():
    with pymupdf.open(REPORT) as doc:
        assert [page_kind(p) for p in doc] == ["title", "contents", "prose", "prose"]
    with pymupdf.open(DIAGRAM) as doc:
        assert page_kind(doc[0]) not in ("prose", "contents")  # a few labels: no running text


def test_sample_is_seeded_and_skips_pages_whose_pictures_hold_text():
    paths = [REPORT, PICTURES, DIAGRAM]
    first = sample_pages(paths, per_kind=1, seed=7)
    assert first == sample_pages(list(reversed(paths)), per_kind=1, seed=7)  # input order does not matter
    assert [kind for _, _, kind in first] == ["prose", "title", "contents"]
    assert {path for path, _, _ in first} == {REPORT}
    everything = sample_pages(paths, per_kind=10, seed=1)
    assert sorted((p.name, n) for p, n, _ in everything) == [(REPORT.name, n) for n in (1, 2, 3, 4)]
    seen = {n for seed in range(8) for _, n, kind in sample_pages(paths, 1, seed) if kind == "prose"}
    assert seen == {3, 4}  # the seed picks among the prose pages


def test_cer_and_wer():
    with pymupdf.open(REPORT) as doc:
        text = doc[2].get_text()
    assert cer(text, text) == 0 and wer(text, text) == 0
    garbage = "".join("#%&@"[i % 4] for i in range(len(normalise(text))))
    assert 0.95 <= cer(text, garbage) <= 1.0
    assert wer(text, "") == 1.0
    assert cer("Введение . . . . . . . 3", "Введение ....... 3") == 0  # dot leaders and spacing are layout
    assert wer("один два три", "один дна три") == pytest.approx(1 / 3)
    assert cer("", "") == 0 and cer("", "x") == 1


def test_evaluate_with_tesseract_reads_prose_pages_well():
    samples = [(REPORT, 3, "prose"), (REPORT, 4, "prose")]
    rows = evaluate(samples, [Setting("t150", dpi=150)])
    assert [(r["page_no"], r["kind"], r["setting"], r["dpi"], r["engine"]) for r in rows] == [
        (3, "prose", "t150", 150, "tesseract"), (4, "prose", "t150", 150, "tesseract")]
    assert all(r["cer"] < 0.1 and r["wer"] < 0.3 and r["ref_chars"] > 500 and r["seconds"] > 0 for r in rows)
    [prose, overall] = summarise(rows)
    assert (prose["kind"], overall["kind"], overall["pages"]) == ("prose", "all", 2)
    assert prose["cer"] < 0.1 and prose["pages_per_s"] > 0


def test_an_unknown_engine_is_refused_before_any_work():
    with pytest.raises(ValueError, match="unknown engine 'easyocr'"):
        evaluate([(REPORT, 3, "prose")], [Setting("other", engine="easyocr")])


def test_summary_weights_by_reference_length_and_recommends_the_lowest_cer():
    def row(setting, kind, chars, error, seconds):
        return {"setting": setting, "kind": kind, "ref_chars": chars, "ref_words": chars // 5, "cer": error,
                "wer": error * 3, "seconds": seconds}

    rows = [row("a", "prose", 900, 0.01, 1.0), row("a", "title", 100, 0.11, 1.0),
            row("b", "prose", 900, 0.01, 0.5), row("b", "title", 100, 0.11, 0.5),
            row("c", "prose", 900, 0.05, 0.1)]
    summary = summarise(rows)
    overall = {s["setting"]: s for s in summary if s["kind"] == "all"}
    assert overall["a"]["cer"] == pytest.approx(0.02)  # (9 + 11) / 1000
    assert overall["b"]["pages_per_s"] == pytest.approx(2.0)
    assert [s["kind"] for s in summary if s["setting"] == "a"] == ["prose", "title", "all"]
    assert recommend(summary).startswith("Recommended: b:")  # a's CER, faster
    assert "No pages" in recommend([])


def test_the_command_writes_parquet_and_recommends(tmp_path: Path, capsys):
    out = tmp_path / "eval.parquet"
    assert main(["eval", str(REPORT), "--dpi", "150", "--per-kind", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Recommended: tesseract rus+eng 150dpi" in printed and "contents" in printed
    rows = pl.read_parquet(out)
    assert rows.height == 3 and set(rows["kind"]) == {"prose", "title", "contents"}
    assert {"setting", "engine", "dpi", "languages", "path", "page_no", "ref_chars", "cer", "wer",
            "seconds"} <= set(rows.columns)
    assert rows.schema["error"] == pl.String and rows["error"].null_count() == 3
    assert main(["eval", str(tmp_path / "missing.pdf")]) == 2
