import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pdf_ocr_pipeline.bpmn import extract_diagram, to_bpmn_xml
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def pdf_of(stem: str) -> Path:
    return FIX / "A.1.0.pdf" if stem == "A.1.0" else FIX / "bpmn" / f"{stem}.pdf"


NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _schema():
    lxml = pytest.importorskip("lxml.etree")
    spiff = pytest.importorskip("SpiffWorkflow")
    xsd = Path(spiff.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"
    return lxml, lxml.XMLSchema(lxml.parse(str(xsd)))


def _diagrams(bpmn_fixtures):
    out = {f"extracted-{s}": extract_diagram(pdf_of(s), 1) for s in ("A.1.0", "A.2.0", "A.3.0", "A.4.0")}
    for s in ("A.3.0", "A.4.0"):
        out[f"truth-{s}"] = parse_bpmn(bpmn_fixtures / f"{s}.bpmn", transform=(0.75, 0.75, 0, 0))
    return out


def test_xml_is_valid_against_omg_xsd(bpmn_fixtures):
    etree, schema = _schema()
    for name, d in _diagrams(bpmn_fixtures).items():
        doc = etree.fromstring(to_bpmn_xml(d).encode())
        assert schema.validate(doc), (name, [str(e) for e in schema.error_log][:3])


def test_xml_round_trips_through_truth_parser(bpmn_fixtures):
    d = extract_diagram(pdf_of("A.4.0"), 1)
    back = parse_bpmn(to_bpmn_xml(d))
    assert back.counts() == {k: v for k, v in d.counts().items()}
    assert {e.label for e in back.elements} == {e.label for e in d.elements}


def test_bpmn_moddle_imports_without_warnings(tmp_path, bpmn_fixtures):
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node/npm not installed")
    if not (NODE_DIR / "node_modules" / "bpmn-moddle").exists():
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            pytest.skip(f"npm ci failed (no registry?): {r.stderr[-300:]}")
    files = []
    for name, d in _diagrams(bpmn_fixtures).items():
        f = tmp_path / f"{name}.bpmn"
        f.write_text(to_bpmn_xml(d), encoding="utf-8")
        files.append(str(f))
    r = subprocess.run([node, str(NODE_DIR / "import.mjs"), *files], capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(files), r.stderr
    for res in results:
        assert "error" not in res and res["warnings"] == [], res
        assert res["root"] == "bpmn:Definitions" and res["elements"] > 5
    assert r.returncode == 0
