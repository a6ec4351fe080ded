"""How well ``layer_judge`` tells a trustworthy text layer from a wrong one, and what judging costs per page.

    .venv/bin/python bench/text_layer_judge.py [--out /tmp/text_layer_judge] [--dpi 150] [--quick]

Builds a labelled corpus under ``--out`` (kept between runs: the Tesseract outputs are reused) and judges every page
for the document's languages (rus+eng, the pipeline's default):

* good born-digital layers: the 23-page Russian report (GOST 7.32), the MIWG BPMN PDFs (reference and Enterprise
  Architect exports), and English and Russian text typeset here (DejaVu Sans) from the report's Typst source, the
  licence texts in /work/shared/testdata and this machine's gettext catalogs (msgid English, msgstr Russian);
* invisible layers made by real OCR (``tesseract IMG OUT -l LANGS pdf``: the page image and its text in render
  mode 3): Russian pages (the report, the typeset Russian) read with ``-l rus+eng`` (good) and with ``-l eng``
  (bad: the wrong-alphabet damage a Canon scanner did); English pages (the OCRmyPDF scans, the typeset English)
  read with ``-l eng`` (good) and with ``-l rus`` (bad);
* bad born-digital layers: the text of those bad OCR layers typeset as visible text (what a broken font encoding
  gives).

Pages are split in two by a hash of their source page (all variants of one page fall in the same half): the
thresholds are chosen on one half and their errors counted on the other. Then ``text_layer_info`` is timed on the
born-digital pages against the version of ``inspect.py`` at ``--before`` (a git commit), in the same run.
"""

from __future__ import annotations

import argparse
import gettext
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import types
import zlib
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from pdf_ocr_pipeline.pdf import inspect, layer_judge
from pdf_ocr_pipeline.pdf.inspect import text_layer_info

TESTDATA = Path("/work/shared/testdata")
REPORT = TESTDATA / "ru-typst-g7-32/databases-lab_reference.pdf"
EN_SCANS = ["c02-22.pdf", "epson.pdf", "linn.pdf", "skew.pdf", "rotated_skew.pdf", "2400dpi.pdf", "masks.pdf",
            "francais.pdf", "cardinal.pdf"]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CATALOGS = ["apt", "bash", "coreutils", "dpkg", "gettext-tools", "grep", "sed", "tar", "wget", "findutils"]
LANGS = "rus+eng"
CHARS_PER_PAGE = 2400


@dataclass
class Sample:
    group: str          # source page: all variants of one page share it (and the half)
    cls: str            # class name for the tables
    good: bool          # whether the layer should be trusted
    path: Path
    page_no: int        # 0-based
    languages: str = "rus+eng"   # the document's languages the layer is judged for
    alphabet: str = "ukr"        # a language of the same alphabet without a word list (the character-only score)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("/tmp/text_layer_judge"))
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--quick", action="store_true", help="every third report page, fewer typeset pages")
    parser.add_argument("--before", default="e666f1b", help="git commit of inspect.py before the judge")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core for Tesseract: the box is shared

    samples = build_corpus(args.out, args.dpi, args.quick)
    rows = [judge_sample(s) for s in samples]
    print_distributions(rows)
    print_thresholds(rows)
    print_speed(samples, args.before, args.repeat)


# ---------------------------------------------------------------- corpus

def build_corpus(out: Path, dpi: int, quick: bool) -> list[Sample]:
    samples: list[Sample] = []
    report_pages = range(0, 23, 3) if quick else range(23)
    for n in range(23):
        samples.append(Sample(f"report:{n}", "born_digital/report", True, REPORT, n))
    for pdf in sorted((TESTDATA / "miwg-reference").glob("*.pdf")) + sorted(
            (TESTDATA / "miwg-tool-renders").rglob("*.pdf")):
        with pymupdf.open(pdf) as doc:
            for n in range(doc.page_count):
                samples.append(Sample(f"miwg:{pdf.stem}:{n}", "born_digital/miwg", True, pdf, n, alphabet="cym"))

    ru_text, en_text = typeset_sources(quick)
    ru_pdf = typeset(out / "typeset_ru.pdf", ru_text)
    en_pdf = typeset(out / "typeset_en.pdf", en_text)
    for name, pdf in (("ru", ru_pdf), ("en", en_pdf)):
        with pymupdf.open(pdf) as doc:
            for n in range(doc.page_count):
                samples.append(Sample(f"typeset_{name}:{n}", f"born_digital/typeset_{name}", True, pdf, n,
                                      alphabet="ukr" if name == "ru" else "cym"))

    # Russian pages read by Tesseract: right languages and English only.
    ru_sources = [(f"report:{n}", REPORT, n) for n in report_pages]
    ru_sources += [(f"typeset_ru:{n}", ru_pdf, n) for n in range(pymupdf.open(ru_pdf).page_count)]
    en_sources = [(f"typeset_en:{n}", en_pdf, n) for n in range(pymupdf.open(en_pdf).page_count)]
    for name in EN_SCANS:
        pdf = TESTDATA / "en-ocrmypdf" / name
        en_sources.append((f"scan:{pdf.stem}", pdf, 0))
    for group, pdf, n in ru_sources:
        samples.append(Sample(group, "invisible/ru_read_rus+eng", True, ocr_pdf(out, pdf, n, "rus+eng", dpi), 0))
        bad = ocr_pdf(out, pdf, n, "eng", dpi)
        samples.append(Sample(group, "invisible/ru_read_eng", False, bad, 0))
        samples.append(Sample(group, "visible_garbage/ru_read_eng", False, typeset_layer(out, bad), 0))
    for group, pdf, n in en_sources:
        # masks.pdf is a German page, francais.pdf a French one: judged for their own languages (no Tesseract
        # model for them here, so they are read with eng: accents lost, words kept).
        langs = {"masks": "deu", "francais": "fra"}.get(pdf.stem, LANGS)
        cls = "en" if langs == LANGS else "de_fr"
        samples.append(Sample(group, f"invisible/{cls}_read_eng", True, ocr_pdf(out, pdf, n, "eng", dpi), 0,
                              langs, "cym"))
        bad = ocr_pdf(out, pdf, n, "rus", dpi)
        samples.append(Sample(group, f"invisible/{cls}_read_rus", False, bad, 0, langs, "cym"))
        samples.append(Sample(group, f"visible_garbage/{cls}_read_rus", False, typeset_layer(out, bad), 0, langs,
                              "cym"))
    return samples


def typeset_sources(quick: bool) -> tuple[str, str]:
    """Russian and English running text: the report's Typst source and gettext catalogs; the licence texts."""
    typ = (REPORT.parent / "databases-lab_test.typ").read_text()
    ru = " ".join(line for line in typ.splitlines() if line.strip() and not line.lstrip().startswith(("#", "//", "(", ")", "]")))
    en = (TESTDATA / "hdbpmn/LICENSE").read_text() + "\n" + (REPORT.parent / "LICENSE").read_text()[:12000]
    ru_parts, en_parts = [ru], [en]
    for name in CATALOGS:
        mo = Path(f"/usr/share/locale/ru/LC_MESSAGES/{name}.mo")
        if not mo.exists():
            continue
        with open(mo, "rb") as fh:
            catalog = gettext.GNUTranslations(fh)._catalog
        pairs = [(k, v) for k, v in catalog.items() if isinstance(k, str) and k and isinstance(v, str)][:60]
        ru_parts.append(" ".join(v for _, v in pairs))
        en_parts.append(" ".join(k for k, _ in pairs))
    limit = 4 if quick else 40
    return ("\n".join(ru_parts)[: limit * CHARS_PER_PAGE], "\n".join(en_parts)[: limit * CHARS_PER_PAGE])


def typeset(path: Path, text: str, fontsize: float = 10) -> Path:
    if path.exists():
        return path
    doc = pymupdf.open()
    if not text.strip():
        doc.new_page()  # an OCR layer without words: a page without text
    for start in range(0, len(text), CHARS_PER_PAGE):
        page = doc.new_page()
        size = fontsize
        # insert_textbox writes nothing when the text overflows the box: smaller type until it fits
        while page.insert_textbox(pymupdf.Rect(56, 56, 540, 790), text[start:start + CHARS_PER_PAGE],
                                  fontsize=size, fontname="dejavu", fontfile=FONT) < 0 and size > 4:
            size -= 1
    doc.save(path)
    return path


def typeset_layer(out: Path, pdf: Path) -> Path:
    """The text of a PDF's layer typeset as visible text on a fresh page (a born-digital page with bad words)."""
    path = out / "garbage" / pdf.name
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        with pymupdf.open(pdf) as doc:
            text = doc[0].get_text("text")
        tmp = typeset(path.with_suffix(".tmp.pdf"), text, fontsize=8)
        with pymupdf.open(tmp) as doc:  # keep one page: the words that fit
            doc.select([0])
            doc.save(path)
        tmp.unlink()
    return path


def ocr_pdf(out: Path, pdf: Path, page_no: int, langs: str, dpi: int) -> Path:
    """One page rendered to a grey image and read by ``tesseract ... pdf``: the image with an invisible layer."""
    path = out / "ocr" / f"{pdf.stem}_p{page_no + 1}_{langs}.pdf"
    if path.exists():
        return path
    path.parent.mkdir(exist_ok=True)
    png = path.with_suffix(".png")
    with pymupdf.open(pdf) as doc:
        doc[page_no].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY).save(png)
    subprocess.run(["tesseract", str(png), str(path.with_suffix("")), "-l", langs, "pdf"], check=True,
                   capture_output=True)
    png.unlink()
    return path


# ---------------------------------------------------------------- judging

def judge_sample(s: Sample) -> dict:
    with pymupdf.open(s.path) as doc:
        page = doc[s.page_no]
        info = text_layer_info(page, s.languages)
        words = [w[4] for w in page.get_text("words")]
    # Without a word list: one alphabet known (a Ukrainian page as "ukr", an English one as "cym"), and none.
    alphabet, _ = layer_judge.plausibility(words, s.alphabet)
    broken_only, _ = layer_judge.plausibility(words, "und")
    half = "calibrate" if zlib.crc32(s.group.encode()) % 2 == 0 else "held-out"
    return {"sample": s, "info": info, "alphabet": alphabet, "broken_only": broken_only, "half": half,
            "usable_before": usable_before(info)}


def usable_before(info: inspect.TextLayerInfo) -> bool:
    """What the count rules alone (the code before the judge) said of the layer."""
    return info.verdict not in (inspect.VERDICT_TOO_LITTLE_TEXT, inspect.VERDICT_GARBAGE, inspect.VERDICT_PICTURES)


def print_distributions(rows: list[dict]) -> None:
    print("Per class: score for the document's languages (rus+eng; the German and French scans for deu and fra),")
    print("the character-only scores (one alphabet known / none), kinds, and pages usable before -> after")
    print(f"{'class':30s} {'n':>3s} {'scored':>6s}  {'score min / p10 / med / max':28s} "
          f"{'alphabet min/med':17s} {'none min/med':13s} {'kinds':28s} usable")
    for cls in sorted({r["sample"].cls for r in rows}):
        rs = [r for r in rows if r["sample"].cls == cls]
        sc = [r for r in rs if r["info"].score is not None]
        scores = sorted(r["info"].score for r in sc)
        kinds: dict[str, int] = {}
        for r in rs:
            kinds[r["info"].kind] = kinds.get(r["info"].kind, 0) + 1
        dist = (f"{scores[0]:.2f} / {quantile(scores, 0.1):.2f} / {statistics.median(scores):.2f} / {scores[-1]:.2f}"
                if scores else "-")
        print(f"{cls:30s} {len(rs):3d} {len(scores):6d}  {dist:28s} {spread(sc, 'alphabet'):17s} "
              f"{spread(sc, 'broken_only'):13s} {','.join(f'{k}:{v}' for k, v in sorted(kinds.items())):28s} "
              f"{sum(r['usable_before'] for r in rs)} -> {sum(r['info'].usable for r in rs)}/{len(rs)}")
    foreign = [r for r in rows if r["sample"].cls == "invisible/de_fr_read_eng"]
    for r in foreign:  # the limit: a good layer in a language the settings do not name
        with pymupdf.open(r["sample"].path) as doc:
            info = text_layer_info(doc[0], LANGS)
        print(f"  {r['sample'].path.name} judged for {LANGS} instead of {r['sample'].languages}: "
              f"score {info.score:.2f}, {info.verdict}")
    print()
    for r in rows:
        info, s = r["info"], r["sample"]
        if info.usable != s.good:
            print(f"  misjudged: {s.cls} {s.path.name} p{s.page_no + 1}: {info.verdict} "
                  f"(kind {info.kind}, score {info.score if info.score is None else round(info.score, 2)}, "
                  f"words {info.words_scored}; usable before: {r['usable_before']})")


def spread(rows: list[dict], key: str) -> str:
    values = sorted(r[key] for r in rows)
    return f"{values[0]:.2f} / {statistics.median(values):.2f}" if values else "-"


def print_thresholds(rows: list[dict]) -> None:
    """For each threshold: the value the calibration half picks, and the errors of the module's constant on the
    held-out half. Only scored layers that pass the count rules count (the judge decides nothing else)."""
    print("\nThresholds: picked on the calibration half (fewest errors, middle of the widest gap); "
          "errors of the module constant (applied) on the held-out half")
    rows = [r for r in rows if r["info"].score is not None and r["usable_before"]]
    checks = [
        ("invisible_ocr", lambda r: r["sample"].cls.startswith("invisible/"), "score",
         layer_judge.MIN_SCORE_INVISIBLE),
        ("born_digital", lambda r: not r["sample"].cls.startswith("invisible/"), "score",
         layer_judge.MIN_SCORE_BORN_DIGITAL),
        ("no word list, alphabet known", lambda r: True, "alphabet", layer_judge.MIN_SCORE_CHARS_ONLY),
        ("no word list, no alphabet (judge leaves it unscored)", lambda r: True, "broken_only", None),
    ]
    for name, pick, key, constant in checks:
        val = (lambda r: r["info"].score) if key == "score" else (lambda r, k=key: r[k])
        chosen = [r for r in rows if pick(r)]
        cal = [(val(r), r["sample"].good) for r in chosen if r["half"] == "calibrate"]
        held = [r for r in chosen if r["half"] == "held-out"]
        good = [v for v, g in cal if g]
        bad = [v for v, g in cal if not g]
        if constant is None:  # not used by the judge: how the best cut of the calibration half fares
            constant = pick_threshold(cal)
        bad_kept = [r for r in held if not r["sample"].good and val(r) >= constant]
        good_refused = [r for r in held if r["sample"].good and val(r) < constant]
        print(f"  {name}: calibration {len(good)} good (min {min(good, default=1):.2f}) / {len(bad)} bad "
              f"(max {max(bad, default=0):.2f}) -> picked {pick_threshold(cal):.2f}; applied {constant:.2f}; "
              f"held-out {sum(r['sample'].good for r in held)} good / {sum(not r['sample'].good for r in held)} bad: "
              f"{len(bad_kept)} bad kept, {len(good_refused)} good refused")
        for r in (bad_kept + good_refused)[:8]:
            s = r["sample"]
            print(f"      {s.cls} {s.path.name} p{s.page_no + 1}: {val(r):.2f}")


def pick_threshold(values: list[tuple[float, bool]]) -> float:
    cuts = sorted({v for v, _ in values} | {0.0, 1.01})
    best, best_err, best_gap = 0.0, len(values) + 1, -1.0
    for lo, hi in zip(cuts, cuts[1:]):
        t = (lo + hi) / 2
        err = sum((v >= t) != g for v, g in values)
        if err < best_err or (err == best_err and hi - lo > best_gap):
            best, best_err, best_gap = t, err, hi - lo
    return best


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


# ---------------------------------------------------------------- speed

def print_speed(samples: list[Sample], before: str, repeat: int) -> None:
    old = load_inspect_at(before)
    print(f"\nSpeed of text_layer_info, one process, best of {repeat} interleaved passes "
          f"(before = inspect.py at {before}; {os.cpu_count()} cores, shared)")
    for title, pick in (("born-digital pages", lambda s: s.cls.startswith("born_digital/")),
                        ("invisible OCR pages (traced)", lambda s: s.cls.startswith("invisible/"))):
        chosen = [s for s in samples if pick(s)]
        docs: dict[Path, pymupdf.Document] = {}
        pages = []
        for s in chosen:
            doc = docs.setdefault(s.path, pymupdf.open(s.path))
            pages.append(doc[s.page_no])
        best = {"before": float("inf"), "after": float("inf")}
        for _ in range(repeat):
            for name, fn in (("before", old.text_layer_info), ("after", text_layer_info)):
                started = time.perf_counter()
                for page in pages:
                    fn(page)
                best[name] = min(best[name], time.perf_counter() - started)
        n = len(pages)
        print(f"  {title} ({n}): before {n / best['before']:.0f} pages/s ({1000 * best['before'] / n:.2f} ms), "
              f"after {n / best['after']:.0f} pages/s ({1000 * best['after'] / n:.2f} ms)")
        for doc in docs.values():
            doc.close()


def load_inspect_at(commit: str) -> types.ModuleType:
    """``pdf_ocr_pipeline/pdf/inspect.py`` as it was at ``commit``, imported beside the current one."""
    source = subprocess.run(["git", "show", f"{commit}:pdf_ocr_pipeline/pdf/inspect.py"], check=True,
                            capture_output=True, text=True, cwd=Path(__file__).parents[1]).stdout
    name = "pdf_ocr_pipeline.pdf._inspect_before"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = "pdf_ocr_pipeline.pdf"
    sys.modules[name] = module
    exec(compile(source, f"{commit}:inspect.py", "exec"), module.__dict__)
    return module


if __name__ == "__main__":
    main()
