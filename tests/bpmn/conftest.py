from pathlib import Path

import pytest

BPMN_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
A10_PDF = Path(__file__).resolve().parents[1] / "fixtures" / "A.1.0.pdf"


@pytest.fixture(scope="session")
def bpmn_fixtures() -> Path:
    return BPMN_FIXTURES


