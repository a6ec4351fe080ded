import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def _tesseract_ready() -> bool:
    try:
        from pdf_ocr_pipeline.engines.tesseract import find_tessdata

        find_tessdata(None, "rus+eng")
        return True
    except Exception:
        return False


needs_tesseract = pytest.mark.skipif(not _tesseract_ready() and not os.environ.get("CI"),
                                     reason="Tesseract rus+eng language data not installed")


@pytest.fixture(scope="session")
def tesseract_engine():
    from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions

    engine = TesseractEngine(TesseractOptions(workers=2))
    yield engine
    engine.close()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    folder.mkdir()
    return folder


def copy_fixture(name: str, folder: Path, as_name: str | None = None) -> Path:
    target = folder / (as_name or name)
    shutil.copyfile(FIXTURES / name, target)
    return target
