import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from pdf_ocr_pipeline.cli import main

from .conftest import copy_fixture, needs_tesseract


@needs_tesseract
def test_run_a_folder_prints_a_summary_and_writes_parquet(tmp_path: Path, inbox: Path, capsys):
    copy_fixture("A.1.0.pdf", inbox)
    copy_fixture("linn.pdf", inbox, "скан 1.pdf")
    data = tmp_path / "data"
    code = main(["run", str(inbox), "--data-dir", str(data), "--dpi", "150"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["document", "pages", "text"]
    a10 = next(line for line in lines if line.startswith("A.1.0 "))
    assert a10.split()[1:6] == ["1", "1", "0", "0", "1"]  # 1 page, text layer, no OCR, no failures, a diagram
    scan = next(line for line in lines if line.startswith("скан_1-"))
    assert scan.split()[1:6] == ["1", "0", "1", "0", "0"]
    assert str(data / "warehouse") in out
    assert "[1/2]" in err and "[2/2]" in err  # progress on stderr
    ocr = pl.read_parquet(data / "warehouse" / "ocr_pages" / "*.parquet")
    assert ocr.height == 2 and set(ocr["source"]) == {"text_layer", "ocr"}


def test_a_bad_document_fails_the_exit_status_not_the_others(tmp_path: Path, inbox: Path, capsys):
    copy_fixture("A.1.0.pdf", inbox)
    (inbox / "broken.pdf").write_bytes(b"\x00" * 100)
    code = main(["run", str(inbox / "A.1.0.pdf"), str(inbox / "broken.pdf"), "--data-dir", str(tmp_path),
                 "--pages", "text"])
    out = capsys.readouterr().out
    assert code == 1
    broken = next(line for line in out.splitlines() if line.startswith("broken"))
    assert "not a PDF" in broken
    assert (tmp_path / "warehouse" / "ocr_pages" / "A.1.0.parquet").exists()


def test_usage_errors(tmp_path: Path, capsys):
    assert main(["run", str(tmp_path / "nope.pdf"), "--data-dir", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["run", str(tmp_path), "--dpi", "5"]) == 2  # out of bounds
    assert "dpi" in capsys.readouterr().err


def test_the_installed_command(tmp_path: Path, inbox: Path):
    copy_fixture("A.1.0.pdf", inbox)
    exe = shutil.which("pdf-ocr") or str(Path(sys.executable).parent / "pdf-ocr")
    proc = subprocess.run([exe, "run", str(inbox), "--data-dir", str(tmp_path), "--pages", "text"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[2].startswith("A.1.0")
    bad = subprocess.run([exe, "run", "--pages", "sometimes"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
