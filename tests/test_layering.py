import subprocess
import sys


def test_libraries_never_import_dagster():
    code = (
        "import sys\n"
        "import pdf_ocr_pipeline.pdf.inspect, pdf_ocr_pipeline.pdf.render, pdf_ocr_pipeline.pdf.text\n"
        "import pdf_ocr_pipeline.engines.router, pdf_ocr_pipeline.engines.tesseract\n"
        "import pdf_ocr_pipeline.storage, pdf_ocr_pipeline.inbox, pdf_ocr_pipeline.schemas, pdf_ocr_pipeline.settings\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0].startswith('dagster'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
