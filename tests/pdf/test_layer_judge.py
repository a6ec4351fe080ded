import os
import shutil
import subprocess
from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.pdf import layer_judge
from pdf_ocr_pipeline.pdf.inspect import VERDICT_KEPT, VERDICT_TOO_LITTLE_TEXT, TextLayerInfo, text_layer_info
from pdf_ocr_pipeline.pdf.layer_judge import is_broken, judge, layer_kind, plausibility
from tests.conftest import needs_tesseract

# What a Canon scanner's own OCR put under a Russian scan ("Электроннолучевая трубка"), and what Tesseract -l eng
# reads from the report's introduction (tests/fixtures/ru_report_p3-5_7.pdf, page 3), next to the true text.
CANON = "Slexrponuo,nyueean rpy6xa"
ENG_READ = ("Ba3bl aHHbIX ABJIAIOTCA HCOTBEMJICMOH 4aCTbIO COBPeCMCHHBIX MHQOpMalMOHHBIX CHCTeM. OHM MO3BONAIOT "
            "XpaHHTb, OOpadaTbIBaTh MH MONyYaTb ocTyt K GombuIHMM OObeMaM WaHHBIX. Tese*OHHbIii cpaBOuHHK, "
            "MpeycTaBIAIOWHit coboii 6a3y JaHHbIX KOHTAKTOB, ABJIACTCA OJHHM M3 pacripocTpaHeHHBIX")
TRUTH = ("Базы данных являются неотъемлемой частью современных информационных систем. Они позволяют хранить, "
         "обрабатывать и получать доступ к большим объемам данных. Телефонный справочник, представляющий собой "
         "базу данных контактов, является одним из распространенных примеров применения баз данных.")
ENGLISH = ("The text layer of a page replaces optical character recognition when its words are plausible for the "
           "languages of the document, which the settings name as Tesseract language codes.")


def test_plausibility_tells_real_text_from_wrong_alphabet_readings():
    truth, n_truth = plausibility(TRUTH.split())
    eng_read, n_eng = plausibility(ENG_READ.split())
    canon, n_canon = plausibility(CANON.split())
    english, _ = plausibility(ENGLISH.split())
    assert truth > 0.8 and english > 0.9
    assert eng_read < 0.1 and canon == 0.0
    assert n_truth >= 20 and n_eng >= 20 and n_canon == 2
    assert plausibility([]) == (1.0, 0)


def test_character_signals():
    assert [is_broken(w) for w in CANON.split()] == [True, True]
    assert is_broken("Cистема")  # a Latin C in a Cyrillic word
    assert not any(is_broken(w) for w in ("PostgreSQL", "т.е.", "COVID-19", "научно-исследовательской", "don't"))


def test_languages_without_a_word_list_fall_back_to_character_signals():
    # German has a pyspellchecker list; Ukrainian has none, but its alphabet is known: Latin words count as broken.
    german = "Das modular aufgebaute Betriebssystem wird von Softwareentwicklern auf der ganzen Welt weiterentwickelt"
    assert plausibility(german.split(), "deu")[0] > 0.8
    assert plausibility(TRUTH.split(), "ukr")[0] > 0.9
    assert plausibility(ENG_READ.split(), "ukr")[0] < 0.1
    # Neither a word list nor an alphabet: the layer is not scored, and trusted.
    verdict = judge("invisible_ocr", ENG_READ.split(), "chi_sim")
    assert verdict.trusted and verdict.score is None and "no word list" in verdict.reason


def test_judge_reasons():
    bad = judge("invisible_ocr", ENG_READ.split(), "rus+eng")
    assert not bad.trusted and bad.kind == "invisible_ocr" and bad.words_scored >= 20
    assert bad.reason == f"invisible OCR layer implausible for rus+eng (score {bad.score:.2f})"
    assert judge("born_digital", TRUTH.split()).trusted
    few = judge("born_digital", CANON.split())  # two words say too little
    assert few.trusted and few.score is None


def _page_with_picture(doc: pymupdf.Document) -> pymupdf.Page:
    page = doc.new_page(width=300, height=200)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 30, 20), False)
    pix.clear_with(255)
    page.insert_image(page.rect, pixmap=pix)
    return page


@pytest.mark.parametrize("how, kind", [
    ({}, "born_digital"), ({"render_mode": 3}, "invisible_ocr"), ({"fill_opacity": 0}, "invisible_ocr"),
])
def test_layer_kind_sees_invisible_text(how: dict, kind: str):
    doc = pymupdf.open()
    page = _page_with_picture(doc)
    page.insert_text((20, 50), "Hidden words over a picture", fontname="helv", **how)
    assert layer_kind(page) == kind
    assert layer_kind(page, image_coverage=0.1) == "born_digital"  # little picture: not traced
    empty = pymupdf.open()
    assert layer_kind(empty.new_page()) == "none"


def test_born_digital_report_pages_are_kept(fixtures: Path):
    for name in ("ru_report_p3-5_7.pdf", "ru_report_p14_18.pdf", "A.1.0.pdf"):
        with pymupdf.open(fixtures / name) as doc:
            for page in doc:
                info = text_layer_info(page)
                assert info.kind == "born_digital" and info.usable and info.verdict == VERDICT_KEPT, (name, info)
                if name.startswith("ru_"):
                    assert info.score > layer_judge.MIN_SCORE_BORN_DIGITAL + 0.3 and info.words_scored >= 20


def test_a_scan_without_text_says_why(fixtures: Path):
    with pymupdf.open(fixtures / "linn.pdf") as doc:
        info = text_layer_info(doc[0])
    assert info.kind == "none" and info.score is None and info.verdict == VERDICT_TOO_LITTLE_TEXT
    assert TextLayerInfo(chars=0, garbage_share=0.0, image_coverage=0.0, chars_over_images=0).kind == "none"


@pytest.fixture(scope="module")
def ocr_layers(tmp_path_factory, fixtures: Path) -> dict[str, Path]:
    """The top of the report's introduction page at 150 dpi, read by ``tesseract IMG OUT -l LANGS pdf``: the image
    with Tesseract's text as an invisible layer, once in the wrong alphabet (eng) and once right (rus+eng)."""
    if not shutil.which("tesseract"):
        pytest.skip("tesseract not installed")
    out = tmp_path_factory.mktemp("ocr_layers")
    with pymupdf.open(fixtures / "ru_report_p3-5_7.pdf") as doc:
        page = doc[2]
        clip = pymupdf.Rect(0, 0, page.rect.width, page.rect.height * 0.45)
        page.get_pixmap(dpi=150, clip=clip, colorspace=pymupdf.csGRAY).save(out / "page.png")
    layers = {}
    for langs in ("eng", "rus+eng"):
        subprocess.run(["tesseract", str(out / "page.png"), str(out / langs), "-l", langs, "pdf"], check=True,
                       capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        layers[langs] = out / f"{langs}.pdf"
    return layers


@needs_tesseract
def test_invisible_layer_in_the_wrong_alphabet_is_not_usable(ocr_layers: dict[str, Path]):
    with pymupdf.open(ocr_layers["eng"]) as doc:
        page = doc[0]
        assert b"3 Tr" in page.read_contents()  # Tesseract's layer is render mode 3
        info = text_layer_info(page, "rus+eng")
    assert info.kind == "invisible_ocr" and info.chars_over_images >= 100
    assert info.score < 0.2 and info.words_scored >= layer_judge.MIN_WORDS_SCORED
    assert not info.usable and not info.plausible
    assert info.verdict.startswith("invisible OCR layer implausible for rus+eng (score 0.")


@needs_tesseract
def test_invisible_layer_read_right_is_usable(ocr_layers: dict[str, Path]):
    with pymupdf.open(ocr_layers["rus+eng"]) as doc:
        info = text_layer_info(doc[0], "rus+eng")
    assert info.kind == "invisible_ocr" and info.usable and info.verdict == VERDICT_KEPT
    assert info.score >= layer_judge.MIN_SCORE_INVISIBLE + 0.2


def test_a_born_digital_code_listing_is_kept():
    # a technical document's listing: identifiers and calls no word list holds are not evidence of a bad layer
    code = ('def load_config(path):\n    with open(path) as fh:\n        data = yaml.safe_load(fh)\n'
            '    return Config(**data)\n\nclass Config(BaseModel):\n    host: str = "localhost"\n    port: int = 5432\n'
            '    user_name: str\n\ndef connect(cfg: Config) -> Connection:\n'
            '    dsn = f"postgresql://{cfg.user_name}@{cfg.host}:{cfg.port}/db"\n'
            '    conn = psycopg.connect(dsn, autocommit=True)\n    conn.execute("SET search_path TO app,public")\n'
            '    return conn\n')
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((50, 60), "Листинг 3 – Подключение к базе данных", fontname="serif",
                     fontfile="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", fontsize=11)
    page.insert_text((50, 90), code, fontname="mono", fontfile="/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                     fontsize=9)
    info = text_layer_info(page, "rus+eng")
    assert info.kind == "born_digital" and info.usable, info
    # the same tokens in an OCR layer are scored: there they are as likely misreadings
    assert plausibility(code.split(), skip_code=True)[0] > plausibility(code.split())[0]
