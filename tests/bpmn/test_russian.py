"""Russian labels: a BPMN page drawn with PyMuPDF (DejaVu Sans has Cyrillic) goes through vector
extraction and XML export with its labels intact."""

from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn import extract_diagram, to_bpmn_xml
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _draw(path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=700, height=300)
    page.insert_font(fontname="dv", fontfile=str(FONT))
    sh = page.new_shape()
    sh.draw_circle((60, 150), 12)
    sh.finish(color=(0, 0, 0), fill=(1, 1, 1), width=1.2)
    for x in (120, 300):
        sh.draw_rect(pymupdf.Rect(x, 120, x + 110, 180), radius=0.15)
        sh.finish(color=(0, 0, 0), fill=(1, 1, 1), width=1.2)
    sh.draw_polyline([(460, 130), (480, 150), (460, 170), (440, 150), (460, 130)])
    sh.finish(color=(0, 0, 0), fill=(1, 1, 1), width=1.2, closePath=True)
    sh.draw_circle((560, 150), 12)
    sh.finish(color=(0, 0, 0), fill=(1, 1, 1), width=4)
    for x0, x1 in ((72, 114), (230, 294), (410, 434), (480, 542)):
        sh.draw_line((x0, 150), (x1, 150))
        sh.finish(color=(0, 0, 0), width=0.75)
        sh.draw_polyline([(x1, 146), (x1 + 6, 150), (x1, 154)])
        sh.finish(color=(0, 0, 0), fill=(0, 0, 0), closePath=True)
    sh.commit()
    for text, x, y in (("Заявка", 40, 178), ("Проверить", 140, 147), ("заявку", 150, 160),
                       ("Оформить", 330, 147), ("договор", 330, 160), ("Одобрено?", 435, 190),
                       ("Готово", 540, 178)):
        page.insert_text((x, y), text, fontname="dv", fontsize=9)
    doc.save(path)


@pytest.mark.skipif(not FONT.exists(), reason="DejaVu Sans not installed")
def test_russian_labels_through_vector_and_xml(tmp_path):
    pdf = tmp_path / "ru.pdf"
    _draw(pdf)
    d = extract_diagram(pdf, 1)
    assert d is not None
    labels = {e.type: e.label for e in d.shapes if e.type != "task"}
    tasks = sorted(e.label for e in d.shapes if e.type == "task")
    assert tasks == ["Оформить договор", "Проверить заявку"]
    assert labels == {"startEvent": "Заявка", "exclusiveGateway": "Одобрено?", "endEvent": "Готово"}
    assert sum(1 for f in d.flows if f.source_id and f.target_id) == 4
    xml = to_bpmn_xml(d)
    assert 'name="Проверить заявку"' in xml
    back = parse_bpmn(xml)
    assert sorted(e.label for e in back.shapes if e.type == "task") == tasks
