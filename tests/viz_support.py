"""Outputs of one real pipeline run, shared by the overlay, report, notebook and browser tests.

``pipeline_outputs(tmp_path_factory)`` runs ``pdf-ocr run`` once per test session on three fixtures: the vector
BPMN diagram ``A.1.0.pdf`` (text layer; the run writes its ``bpmn_elements``, ``bpmn_models`` and ``.bpmn`` file),
the scan ``linn.pdf`` (Tesseract) and four pages of the Russian report (text layer, no diagram).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from unittest import mock

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = {"A.1.0.pdf": "A.1.0", "linn.pdf": "linn", "ru_report_p3-5_7.pdf": "ru_report_p3-5_7"}
_cache: dict[str, Path] = {}


def run_pipeline(data_dir: Path, inputs: list[Path], dagster_home: Path | None = None) -> int:
    """``pdf-ocr run`` in-process into ``data_dir``; with ``dagster_home`` its runs land in that instance."""
    from pdf_ocr_pipeline.cli import main

    # Settings that would change what the run does are the defaults here; where to find Tesseract is kept.
    drop = {"DAGSTER_HOME", "PDF_OCR_DATA_DIR", "PDF_OCR_INBOX_DIR", "PDF_OCR_ENGINE", "PDF_OCR_PAGES", "PDF_OCR_DPI"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    with mock.patch.dict(os.environ, env, clear=True):
        return main(["run", *map(str, inputs), "--data-dir", str(data_dir)])


def pipeline_outputs(tmp_path_factory) -> Path:
    """The data directory of one real run (made once per session)."""
    if "data" not in _cache:
        root = tmp_path_factory.mktemp("pipeline-run")
        inbox, data = root / "input", root / "data"
        inbox.mkdir()
        for name in DOCS:
            shutil.copyfile(FIXTURES / name, inbox / name)
        code = run_pipeline(data, [inbox])
        assert code == 0, f"pdf-ocr run exited {code}"
        _cache["data"] = data
    return _cache["data"]
