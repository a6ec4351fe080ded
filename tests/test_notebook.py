"""notebooks/explore.ipynb runs top to bottom (nbclient, a real kernel) on the outputs of a real pipeline run."""

import os
import re
from pathlib import Path

import pytest

from .viz_support import pipeline_outputs

try:
    import nbclient
    import nbformat
except ImportError:  # a test dependency; on CI it must be there
    if os.environ.get("CI"):
        raise
    pytest.skip("nbclient/nbformat not installed (pip install nbclient nbformat ipykernel matplotlib)",
                allow_module_level=True)

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = pytest.mark.slow


def texts(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", ""))
            out.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_explore_notebook_runs_on_a_real_run(tmp_path_factory, monkeypatch):
    data = pipeline_outputs(tmp_path_factory)
    monkeypatch.setenv("PDF_OCR_DATA_DIR", str(data))  # the kernel inherits the environment
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}})
    client.execute()  # raises CellExecutionError on the first failing cell
    ARTIFACTS.mkdir(exist_ok=True)
    nbformat.write(nb, ARTIFACTS / "explore.executed.ipynb")

    text = texts(nb)
    assert "ru_report_p3-5_7" in text and "linn" in text  # per-document statistics
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 3  # the sources chart, the matplotlib page, the Pillow overlay
    found = re.search(r"A\.1\.0 page 1: \d+ words or blocks, (\d+) BPMN elements", text)
    assert found and int(found.group(1)) > 0  # the diagram page was picked and drawn
    assert "Task 1" in text and "sequenceFlow" in text  # the flows, by their ends' labels
    assert "--- A.1.0: " in text and "<!-- page 1 -->" in text  # each document's Markdown
