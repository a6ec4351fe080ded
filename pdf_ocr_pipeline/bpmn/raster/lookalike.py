"""Latin / Cyrillic look-alike repair for OCR words on diagram images.

Tesseract run with ``rus+eng`` on a low-resolution diagram often reads an English word with Cyrillic
glyphs of the same shape ("Prepare" -> "Ргераге") and vice versa, or mixes both scripts in one word. A word is
moved to the page's majority script when every letter of it has a look-alike there and it is either mixed
or (on a Latin page) wholly in Cyrillic look-alikes. Words that are genuinely in the other script (a Russian word on an English
page with letters that have no Latin twin) are left alone.
"""

from __future__ import annotations

CYR_TO_LAT = dict(zip("АВЕКМНОРСТХаеорсухгпиь", "ABEKMHOPCTXaeopcyxrnub"))
LAT_TO_CYR = dict(zip("ABEKMHOPCTXaeopcyx", "АВЕКМНОРСТХаеорсух"))


def _script(ch: str) -> str | None:
    if "a" <= ch.lower() <= "z":
        return "lat"
    if "\u0400" <= ch <= "\u04ff":
        return "cyr"
    return None


def majority_script(texts: list[str]) -> str | None:
    """``lat`` or ``cyr``: the script of most letters on the page, or None without letters."""
    n = {"lat": 0, "cyr": 0}
    for t in texts:
        for ch in t:
            s = _script(ch)
            if s:
                n[s] += 1
    if not n["lat"] and not n["cyr"]:
        return None
    return "lat" if n["lat"] >= n["cyr"] else "cyr"


def fix_word(text: str, target: str) -> str:
    """``text`` with its letters mapped to ``target`` script when all of the other script's letters have a
    look-alike; unchanged otherwise."""
    table = CYR_TO_LAT if target == "lat" else LAT_TO_CYR
    other = "cyr" if target == "lat" else "lat"
    foreign = [ch for ch in text if _script(ch) == other]
    if not foreign or any(ch not in table for ch in foreign):
        return text
    if target == "cyr" and len(foreign) == sum(1 for ch in text if _script(ch)):
        return text  # a Latin word on a Russian page (an acronym, a product name) stays Latin
    return "".join(table.get(ch, ch) if _script(ch) == other else ch for ch in text)


def fix_words(words: list) -> list:
    """``(text, box)`` words with look-alike letters moved to the page's majority script."""
    target = majority_script([t for t, _ in words])
    if target is None:
        return list(words)
    from pdf_ocr_pipeline.bpmn.labels import with_text
    return [with_text(w, fix_word(w[0], target)) for w in words]
