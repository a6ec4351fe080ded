import subprocess
import sys


def test_bpmn_never_imports_dagster():
    code = ("import sys, pdf_ocr_pipeline.bpmn, pdf_ocr_pipeline.bpmn.raster, pdf_ocr_pipeline.bpmn.vector;"
            "print(any(k.startswith('dagster') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
