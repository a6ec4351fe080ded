"""The model families' prompts, image token counts, detection and parsers, against what each model's own repository
and documentation say. Pure Python: no torch, no vLLM."""

from __future__ import annotations

import json

import pytest

from pdf_ocr_pipeline.engines.families import (DEEPSEEK_OCR, DEEPSEEK_OCR_2, EOS_TEXT, FAMILIES, detect_family,
                                               resolve_family)
from pdf_ocr_pipeline.engines.image_prep import Frame, image_tokens, tile_grid
from pdf_ocr_pipeline.engines.prompts import bpmn_prompt_v1, free_ocr_prompt_v1, ocr_prompt_v1

# DeepSeek-OCR-2, transformers' integration test (tests/models/deepseek_ocr2/test_modeling_deepseek_ocr2.py,
# test_small_model_integration_test_grounding_markdown: the real model on image_ocr.jpg, 20 new tokens, cuda):
OCR2_GROUNDED = "<|ref|>title<|/ref|><|det|>[[330, 198, 559, 230]]<|/det|>\n# R"
# DeepSeek-OCR's own scripts (DeepSeek-OCR-master/DeepSeek-OCR-vllm/run_dpsk_ocr_pdf.py): refs match
# r'(<\|ref\|>(.*?)<\|/ref\|><\|det\|>(.*?)<\|/det\|>)', the det is a Python list of [x1, y1, x2, y2] on 0-999
# (``/ 999 * image_width``), an image ref becomes a picture link, a page that ended well carries
# '<｜end▁of▁sentence｜>' (removed), '\coloneqq' becomes ':='. A page of that shape:
OCR1_GROUNDED = ("<|ref|>title<|/ref|><|det|>[[100, 50, 900, 90]]<|/det|>\n# Отчёт\n\n"
                 "<|ref|>text<|/ref|><|det|>[[100, 120, 900, 300]]<|/det|>\nИтог: $x \\coloneqq 1$\n\n"
                 "<|ref|>image<|/ref|><|det|>[[150, 320, 850, 600]]<|/det|>\n\n"
                 "<|ref|>table<|/ref|><|det|>[[100, 650, 900, 900]]<|/det|>\n"
                 "<table><tr><td>Q1</td><td>100</td></tr></table>" + EOS_TEXT)


@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
def test_prompts_are_the_image_then_the_instruction(family):
    # Both repos' config.py: PROMPT = '<image>\n<|grounding|>Convert the document to markdown.' (and
    # '<image>\nFree OCR.'); the users' diagram prompt: '<image>\n<|grounding|>OCR this image.'
    assert family.prompt(ocr_prompt_v1().text) == "<image>\n<|grounding|>Convert the document to markdown."
    assert family.prompt(free_ocr_prompt_v1().text) == "<image>\nFree OCR."
    assert family.prompt(bpmn_prompt_v1().text) == "<image>\n<|grounding|>OCR this image."
    assert family.image_token_id == 128815 and family.stop_strings == (EOS_TEXT,)
    assert family.whitelist_token_ids == (128821, 128822) and family.window_size == 90


def test_image_tokens_per_family():
    # DeepSeek-OCR: a 1024 view is 16 x 16 queries, each row ending in a newline token, + a separator (273);
    # vLLM's Gundam adds 640 tiles of 10 x (10 + 1); the project's own count agrees (image_prep.image_tokens)
    assert DEEPSEEK_OCR.image_tokens("base") == 273
    frame = Frame(1280, 1920, (0, 0, 1280, 1920))
    cols, rows = tile_grid(1280, 1920)
    assert DEEPSEEK_OCR.image_tokens("gundam", (cols, rows)) == image_tokens(frame, "gundam")
    # DeepSeek-OCR-2 README "Support-Modes": (0-6) x 144 + 256 visual tokens (+ the separator its
    # tokenize_with_images adds), 768 tiles
    assert DEEPSEEK_OCR_2.image_tokens("base") == 257
    assert DEEPSEEK_OCR_2.image_tokens("gundam", (2, 3)) == 257 + 6 * 144
    assert (DEEPSEEK_OCR.tile_size, DEEPSEEK_OCR_2.tile_size) == (640, 768)
    # the repeat ban of each repo's recipe: vLLM's DeepSeek-OCR recipe 30/90; run_dpsk_ocr2_image.py 20/90
    assert (DEEPSEEK_OCR.ngram_size, DEEPSEEK_OCR_2.ngram_size) == (30, 20)


def test_ocr2_grounded_output_as_documented():
    text, blocks = DEEPSEEK_OCR_2.parse(OCR2_GROUNDED, page_w_pt=999.0, page_h_pt=999.0)
    assert text == "# R"
    [b] = blocks
    assert (b.label, b.text) == ("title", "# R")
    assert (b.x0, b.y0, b.x1, b.y1) == pytest.approx((330, 198, 559, 230))


def test_ocr1_grounded_output_as_its_scripts_read_it():
    text, blocks = DEEPSEEK_OCR.parse(OCR1_GROUNDED, page_w_pt=595.0, page_h_pt=842.0)
    assert [b.label for b in blocks] == ["title", "text", "image", "table"]
    assert blocks[0].x0 == pytest.approx(100 / 999 * 595) and blocks[0].y1 == pytest.approx(90 / 999 * 842)
    assert text.startswith("# Отчёт") and "x := 1" in text and "![](image-1)" in text
    assert EOS_TEXT not in text and "<|" not in text and text.endswith("</table>")


def test_both_families_read_the_same_answer_alike():
    # the output format is one; only what the model is shown differs
    for raw in (OCR1_GROUNDED, OCR2_GROUNDED):
        assert DEEPSEEK_OCR.parse(raw, page_w_pt=500, page_h_pt=700) == \
            DEEPSEEK_OCR_2.parse(raw, page_w_pt=500, page_h_pt=700)


def test_strip_stop_drops_eos_and_what_a_padded_batch_wrote_after_it():
    assert DEEPSEEK_OCR.strip_stop("abc" + EOS_TEXT + "<｜▁pad▁｜>" * 3) == "abc"
    assert DEEPSEEK_OCR.strip_stop("no stop") == "no stop"


def _model_folder(tmp_path, config: dict):
    (tmp_path / "config.json").write_text(json.dumps(config))
    return str(tmp_path)


@pytest.mark.parametrize(("config", "family"), [
    # DeepSeek-OCR's hub config (remote code; as shared/gpu/make_dummy_model.py writes it)
    ({"architectures": ["DeepseekOCRForCausalLM"], "model_type": "deepseek_vl_v2"}, DEEPSEEK_OCR),
    # DeepSeek-OCR-2's hub config (remote code): same model_type, its own architecture
    ({"architectures": ["DeepseekOCR2ForCausalLM"], "model_type": "deepseek_vl_v2"}, DEEPSEEK_OCR_2),
    # transformers' own class (deepseek-community/DeepSeek-OCR-2)
    ({"architectures": ["DeepseekOcr2ForConditionalGeneration"], "model_type": "deepseek_ocr2"}, DEEPSEEK_OCR_2),
    ({"model_type": "deepseek_ocr2"}, DEEPSEEK_OCR_2),
])
def test_family_from_the_model_folders_config(tmp_path, config, family):
    folder = _model_folder(tmp_path, config)
    assert detect_family(folder) is family
    assert resolve_family("auto", folder) is family


def test_family_from_the_name_when_there_is_no_config(tmp_path):
    assert detect_family("deepseek-ai/DeepSeek-OCR-2") is DEEPSEEK_OCR_2
    assert detect_family("deepseek-community/deepseek-ocr2") is DEEPSEEK_OCR_2
    assert detect_family("deepseek-ai/DeepSeek-OCR") is DEEPSEEK_OCR
    assert detect_family("/models/something-else") is None
    assert resolve_family("auto", "/models/something-else") is DEEPSEEK_OCR  # the default
    # a named family wins over what the folder says
    folder = _model_folder(tmp_path, {"architectures": ["DeepseekOCRForCausalLM"]})
    assert resolve_family("deepseek-ocr-2", folder) is DEEPSEEK_OCR_2
    with pytest.raises(ValueError, match="unknown model family"):
        resolve_family("qwen-vl", folder)
    (tmp_path / "config.json").write_text("{not json")
    assert detect_family(str(tmp_path)) is None
