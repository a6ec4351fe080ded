"""Overlays: boxes in points land on the right pixels, every element shape is drawn, odd rows do not break it,
and ``pdf-ocr show`` draws real pipeline outputs."""

import argparse
import base64
import io
import subprocess
import sys

import pytest
from PIL import Image

from pdf_ocr_pipeline import cli_views
from pdf_ocr_pipeline.overlay import (BLOCK_COLOURS, ELEMENT_COLOURS, PageNotFoundError, category, draw_page,
                                      load_page, show_page, thumbnail, thumbnail_markdown)

from .conftest import needs_tesseract
from .viz_support import pipeline_outputs


@pytest.fixture(scope="session")
def outputs(tmp_path_factory):
    return pipeline_outputs(tmp_path_factory)


def blank_png(width_px=400, height_px=200) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width_px, height_px), "white").save(buf, format="PNG")
    return buf.getvalue()


def close(pixel, rgb, tol=40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, rgb))


def test_boxes_in_points_land_on_scaled_pixels():
    # A 200 x 100 pt page rendered at 400 x 200 px: 2 px per point.
    image = draw_page(blank_png(), 200, 100, [{"label": "word", "text": "x", "x0": 10, "y0": 10, "x1": 30, "y1": 20,
                                               "confidence": 0.9}],
                      [{"type": "task", "label": "Task 1", "x0": 100, "y0": 20, "x1": 160, "y1": 80}], legend=False)
    assert image.size == (400, 200)
    inside_word = image.getpixel((40, 30))
    assert inside_word != (255, 255, 255) and inside_word[2] > inside_word[0]  # translucent blue-ish fill
    assert image.getpixel((10, 10)) == (255, 255, 255)  # outside every box
    assert close(image.getpixel((260, 41)), ELEMENT_COLOURS["task"])  # the task's left edge at x=100pt -> 200px
    assert close(image.getpixel((200, 100)), ELEMENT_COLOURS["task"])


def test_every_kind_of_element_is_drawn_and_flows_take_both_waypoint_forms():
    elements = [
        {"type": "startEvent", "x0": 10, "y0": 40, "x1": 30, "y1": 60},
        {"type": "exclusiveGateway", "x0": 50, "y0": 35, "x1": 80, "y1": 65},
        {"type": "endEvent", "x0": 170, "y0": 40, "x1": 190, "y1": 60},
        {"type": "participant", "x0": 2, "y0": 2, "x1": 198, "y1": 98},
        {"type": "sequenceFlow", "waypoints": [{"x": 30, "y": 50}, {"x": 50, "y": 50}]},
        {"type": "messageFlow", "waypoints": [[80, 50], [120, 50], [120, 90]]},
    ]
    image = draw_page(blank_png(), 200, 100, [], elements, legend=False)
    assert close(image.getpixel((21, 100)), ELEMENT_COLOURS["startEvent"])  # left of the start event's circle
    assert close(image.getpixel((101, 100)), ELEMENT_COLOURS["gateway"])  # the diamond's left corner
    assert close(image.getpixel((80, 100)), ELEMENT_COLOURS["sequenceFlow"], tol=60)  # on the flow
    assert close(image.getpixel((240, 150)), ELEMENT_COLOURS["messageFlow"], tol=60) or \
        close(image.getpixel((240, 140)), ELEMENT_COLOURS["messageFlow"], tol=60)  # dashed: one of two points


def test_odd_rows_are_skipped_not_fatal():
    rows = [{"type": "task"}, {"type": None, "x0": None, "y0": 1, "x1": 2, "y1": 3},
            {"type": "task", "x0": float("nan"), "y0": 0, "x1": 1, "y1": 1},
            {"type": "sequenceFlow", "waypoints": None},
            {"type": "sequenceFlow", "waypoints": [{"x": 1}]}, {"type": "weirdThing", "box": (5, 5, 20, 20)},
            {"type": "task", "x0": 50, "y0": 50, "x1": 40, "y1": 40}, "not a row"]
    blocks = [{"label": None, "x0": 1, "y0": 1, "x1": 5, "y1": 5}, {"label": "word"}]
    image = draw_page(blank_png(), 200, 100, blocks, rows)
    assert image.height > 200  # the legend strip, for what could be drawn
    assert category("userTask") == "task" and category("eventBasedGateway") == "gateway"
    assert category("intermediateCatchEvent") == "intermediateEvent" and category("dataStoreReference") == "data"
    assert category("dataInputAssociation") == "association" and category("weirdThing") == "other"


def test_low_confidence_words_stand_out():
    image = draw_page(blank_png(), 200, 100, [{"label": "word", "x0": 10, "y0": 10, "x1": 50, "y1": 30,
                                               "confidence": 0.2}], None, legend=False, block_alpha=255)
    assert close(image.getpixel((60, 40)), BLOCK_COLOURS["low confidence"])


def test_thumbnail_is_a_small_png_and_its_markdown_embeds_it():
    png = thumbnail(blank_png(1700, 2200), 612, 792, [{"label": "word", "x0": 100, "y0": 100, "x1": 200, "y1": 120}],
                    [{"type": "task", "x0": 100, "y0": 300, "x1": 300, "y1": 400}])
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and max(image.size) <= 480 + 40  # legend strip below
    assert image.width <= 480
    md = thumbnail_markdown(png, alt="page [1] of x")
    assert md.startswith("![page 1 of x](data:image/png;base64,") and md.endswith(")")
    assert base64.b64decode(md.split(",", 1)[1][:-1]) == png


def test_show_page_draws_a_diagram_page_with_its_elements(outputs):
    page = load_page(outputs, "A.1.0", 1)
    assert page["blocks"], "the text layer's words"
    image = show_page(outputs, "A.1.0", 1)
    plain = Image.open(io.BytesIO(page["png"]))
    assert image.width == plain.width and image.height > plain.height  # page plus legend
    assert page["elements"], "the pipeline's bpmn_elements rows of the diagram page"
    task = next(e for e in page["elements"] if category(e["type"]) == "task")
    sx = plain.width / page["width_pt"]
    x, y = round(task["x0"] * sx) + 1, round((task["y0"] + task["y1"]) / 2 * sx)
    assert close(image.getpixel((x, y)), ELEMENT_COLOURS["task"], tol=60)
    without = show_page(outputs, "A.1.0", 1, blocks=False, elements=False)
    assert without.size == plain.size  # nothing drawn, no legend


@needs_tesseract
def test_show_page_draws_ocr_words_of_a_scan(outputs):
    page = load_page(outputs, "linn", 1)
    assert len(page["blocks"]) > 100 and page["elements"] == []
    image = show_page(outputs, "linn", 1)
    word = page["blocks"][0]
    sx = Image.open(io.BytesIO(page["png"])).width / page["width_pt"]
    px = image.getpixel((round((word["x0"] + word["x1"]) / 2 * sx), round((word["y0"] + word["y1"]) / 2 * sx)))
    assert px != (255, 255, 255)


def test_unknown_document_or_page_says_what_exists(outputs):
    with pytest.raises(PageNotFoundError) as e:
        show_page(outputs, "no-such-doc", 1)
    assert "A.1.0" in e.value.known and e.value.exit_code == 2
    with pytest.raises(PageNotFoundError, match=r"no rendered page 9 \(pages: 1-4\)"):
        show_page(outputs, "ru_report_p3-5_7", 9)
    with pytest.raises(PageNotFoundError):
        show_page(outputs, "../raw_pdfs/A.1.0", 1)


def parser():
    p = argparse.ArgumentParser(prog="pdf-ocr")
    sub = p.add_subparsers(dest="command", required=True)
    cli_views.add_show_parser(sub)
    cli_views.add_report_parser(sub)
    return p


def run_cli(argv):
    args = parser().parse_args(argv)
    return args.func(args)


def test_cli_show_writes_a_png(outputs, tmp_path, capsys):
    out = tmp_path / "shown.png"
    assert run_cli(["show", "A.1.0", "--page", "1", "--data-dir", str(outputs), "--out", str(out)]) == 0
    assert Image.open(out).format == "PNG"
    assert capsys.readouterr().out.strip() == str(out)
    # The PDF's file name works as well as the key.
    assert run_cli(["show", "A.1.0.pdf", "--page", "1", "--data-dir", str(outputs), "--out", str(out)]) == 0


def test_cli_show_unknown_document_lists_the_known_ones(outputs, capsys):
    assert run_cli(["show", "nope", "--page", "1", "--data-dir", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert "no document 'nope'" in err and "known documents:" in err and "  A.1.0" in err
    assert run_cli(["show", "A.1.0", "--page", "5", "--data-dir", str(outputs)]) == 2
    assert "no rendered page 5 (pages: 1)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        run_cli(["show", "A.1.0", "--page", "0"])
    assert e.value.code == 2


def test_cli_show_in_an_empty_data_dir(tmp_path, capsys):
    assert run_cli(["show", "x", "--page", "1", "--data-dir", str(tmp_path)]) == 2
    assert "run `pdf-ocr run" in capsys.readouterr().err


def test_overlay_and_report_never_import_dagster():
    code = ("import sys, pdf_ocr_pipeline.overlay, pdf_ocr_pipeline.report, pdf_ocr_pipeline.cli_views\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0].startswith('dagster'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_page_thumbnail_for_asset_metadata(outputs):
    from pdf_ocr_pipeline.overlay import page_thumbnail

    png = page_thumbnail(outputs, "A.1.0")  # the diagram page, with its elements
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 480
    assert page_thumbnail(outputs, "ru_report_p3-5_7", max_side=300) is not None
    assert page_thumbnail(outputs, "no-such-doc") is None and page_thumbnail(outputs, "A.1.0", 7) is None
    assert len(thumbnail_markdown(png)) < 200_000  # stays a reasonable metadata entry
