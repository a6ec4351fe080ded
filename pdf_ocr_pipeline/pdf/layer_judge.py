"""Judge a page's text layer before it stands in for OCR: what made it, and whether its words read as real text.

Two kinds of layer look usable by their counts alone and are not: the invisible text (render mode 3) a scanner or an
earlier OCR tool laid under a page image, read with the wrong alphabet (a Canon scan of a Russian page carries
"Slexrponuo,nyueean rpy6xa" for "Электроннолучевая трубка"), and any layer whose words are not words of the
document's languages. ``layer_kind`` tells the first from born-digital text; ``plausibility`` scores the words;
``judge`` combines both into a ``LayerVerdict``. Pure: no Dagster; the word lists come from ``pyspellchecker``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pymupdf

KIND_NONE = "none"
KIND_BORN_DIGITAL = "born_digital"
KIND_INVISIBLE_OCR = "invisible_ocr"

#: A layer is "invisible_ocr" when more than this share of its characters is drawn invisible: render mode 3
#: (``get_texttrace`` span type 3) or opacity 0. OCR tools hide all of their text; born-digital pages none of it.
INVISIBLE_SHARE = 0.5
#: ``get_texttrace`` costs about 0.7 ms on a text page (a third of ``text_layer_info``), so the kind is traced only
#: where pictures cover at least this share of the page: an OCR layer always lies over its scan.
KIND_TRACE_COVERAGE = 0.5

#: Words need this many letters to be scored: shorter ones ("MH", "OH", "Ha") match the English list by chance.
MIN_WORD_LETTERS = 3
#: ... and more distinct letters than this: dot leaders and rules read as letters ("cece", "eee", "нене") are
#: not words of any layer, good or bad (a table of contents read by Tesseract is full of them).
MAX_REPEAT_LETTERS = 2
#: A layer is scored only with at least this many such words; fewer (a diagram's labels, a title page) say too
#: little, and the layer is judged by the counts alone.
MIN_WORDS_SCORED = 12
#: At most this many words are scored a page (the first ones): the score has settled long before, and a dense
#: page costs no more than an ordinary one (a scored word costs about 1.5 us).
MAX_WORDS_SCORED = 400
#: Each word with a broken-character signal (two alphabets, a digit or stray punctuation inside its letters)
#: takes this many dictionary hits off the score: one garbled word is evidence against the layer as a whole.
BROKEN_WORD_PENALTY = 1.0
#: The thresholds below come from bench/text_layer_judge.py: 384 pages judged for rus+eng (a German and a French
#: scan for deu and fra), 356 of them scored; half of the source pages picked them (the best cut, "calibration"),
#: the other half was held out: 0 errors on 88 invisible and 90 born-digital layers.
#: An invisible OCR layer is trusted from this score up. Good layers (Russian pages read by Tesseract -l rus+eng,
#: English ones by -l eng): 0.54-1.00; the wrong alphabet (Russian read -l eng, English read -l rus): 0.00-0.35
#: (0.35: a page of table definitions, half English identifiers, character error rate 0.52). Calibration: 0.44.
MIN_SCORE_INVISIBLE = 0.45
#: A born-digital layer is trusted from this score up. Good layers (the Russian report, the MIWG diagrams, English
#: and Russian text typeset here): 0.50-1.00; the bad OCR layers above typeset as visible text (what a broken font
#: encoding gives): 0.00-0.35. Calibration: 0.42; a little lower than for OCR layers, whose text is a guess.
#: A layer in a language the settings do not name scores like a bad one (the good OCR layers of the German and
#: French scans judged for rus+eng: 0.25 and 0.19) and is refused: its ``reason`` names the languages judged for.
MIN_SCORE_BORN_DIGITAL = 0.40
#: Without a word list for every language named but with every alphabet known (``ALPHABETS``, e.g. "ukr"), the
#: score is the share of words without a broken-character signal and in one of the alphabets. Bench (Russian
#: pages judged as "ukr", English ones as "cym"): good 0.52-1.00, wrong alphabet 0.00. Calibration: 0.29.
#: Where no alphabet is known either, the character signals alone do not separate (good 0.89-1.00, bad
#: 0.76-1.00: "aHHbIX" looks clean) and the layer is not scored.
MIN_SCORE_CHARS_ONLY = 0.30

#: The alphabet of Tesseract languages, for the character-only score (when a language named has no word list): a
#: word in none of the document's alphabets counts as broken there (a Ukrainian page read as Latin). A code missing
#: here (Greek, Arabic, CJK, ...) leaves the alphabet open, and the layer unscored.
ALPHABETS = {
    **dict.fromkeys(("ukr", "bel", "bul", "srp", "mkd", "kaz", "kir", "tgk", "mon", "tat", "bak", "chv", "uzb_cyrl",
                     "aze_cyrl"), "cyrillic"),
    **dict.fromkeys(("eng", "deu", "fra", "spa", "ita", "por", "nld", "pol", "ces", "slk", "slv", "hrv", "bos",
                     "srp_latn", "hun", "ron", "swe", "dan", "nor", "fin", "est", "lav", "lit", "tur", "cat", "eus",
                     "glg", "isl", "gle", "vie", "ind", "msa", "afr", "sqi", "aze", "uzb", "lat", "mlt", "cym"),
                    "latin"),
    "rus": "cyrillic",
}

#: Tesseract language codes and the ``pyspellchecker`` word list for each.
SPELLCHECKER_LANGUAGES = {
    "eng": "en", "rus": "ru", "deu": "de", "fra": "fr", "spa": "es", "ita": "it", "por": "pt", "nld": "nl",
    "lav": "lv", "eus": "eu", "ara": "ar", "fas": "fa",
}
#: Word lists that hold mostly lemmas: pyspellchecker's "ru" has 19,880 words and misses "таблица", "справочник".
#: A word counts as known there when it and a listed word differ only in their last ``STEM_CUT`` letters, with at
#: least ``MIN_STEM`` letters shared (the report's words: 55% known exactly, 83% so).
STEMMED_LISTS = frozenset({"ru"})
STEM_CUT = 3
MIN_STEM = 4

# Stripped from both ends of a word before it is looked at.
_EDGE = "\"'«»„“”‘’()[]{}<>.,;:!?…·•*-–—/\\|_~`^=+#%&@$§°№"
# Inside a run of letters, these never occur in real words ("Slexrponuo,nyueean"); '.', '-', "'", '/' do.
_INNER_PUNCT = re.compile(r"[^\W\d_][,;!?«»\"()\[\]{}<>|*^~`=…•·]+[^\W\d_]")
_INNER_DIGIT = re.compile(r"[^\W\d_]\d+[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_SCRIPT_PATTERNS = {"latin": _LATIN, "cyrillic": _CYRILLIC}
_SPLIT = re.compile(r"[-/'’.]")


@dataclass(frozen=True)
class LayerVerdict:
    """What ``judge`` found: the layer's ``kind``, its ``score`` (None: not scored), how many words were scored,
    whether it is ``trusted`` to replace OCR, and ``reason``, a short text saying why (or why not)."""
    kind: str
    score: float | None
    words_scored: int
    trusted: bool
    reason: str


def layer_kind(page: pymupdf.Page, image_coverage: float | None = None) -> str:
    """What made a page's text layer: ``"none"``, ``"born_digital"`` (visible text) or ``"invisible_ocr"``.

    Args:
        page: the page.
        image_coverage: the share of the page covered by pictures, when the caller has it; below
            ``KIND_TRACE_COVERAGE`` the text is taken as born-digital without tracing it (an invisible layer with
            no picture under it has nothing it was read from).
    Returns:
        One of the ``KIND_*`` strings.
    """
    if image_coverage is not None and image_coverage < KIND_TRACE_COVERAGE:
        return KIND_BORN_DIGITAL if page.get_text("text").strip() else KIND_NONE
    total = invisible = 0
    for span in page.get_texttrace():
        n = sum(1 for ch in span["chars"] if ch[0] > 32)
        total += n
        if span["type"] == 3 or span["opacity"] == 0:
            invisible += n
    if total == 0:
        return KIND_NONE
    return KIND_INVISIBLE_OCR if invisible / total > INVISIBLE_SHARE else KIND_BORN_DIGITAL


#: Program code in a born-digital layer (a listing, a table of identifiers): ASCII tokens with a programming
#: language's punctuation inside ("user_id", "foo(bar)", "cfg.host") are real text that no word list holds, and
#: are not scored there. An earlier OCR's wrong-alphabet reading of Cyrillic is mostly plain Latin runs, mixed in
#: case ("aHHbIX", "Slexrponuo"), which stay scored (so camelCase is not taken for code).
_CODE = re.compile(r"[_(){}\[\]=<>;:/\\#$@&|+\"'`.]")


def _code_like(token: str) -> bool:
    return token.isascii() and bool(_CODE.search(token))


def plausibility(words: Iterable[str], languages: str = "rus+eng", skip_code: bool = False) -> tuple[float, int]:
    """How much a text layer's words read as real text in the document's languages.

    A word with at least ``MIN_WORD_LETTERS`` letters, more than ``MAX_REPEAT_LETTERS`` of them distinct, is
    scored (the first ``MAX_WORDS_SCORED``): a hit when it is in a language's word list (``pyspellchecker``; the
    Russian lemma list matched by stem; hyphenated words part by part), broken when its letters mix two alphabets
    ("Cистема" with a Latin C) or hold a digit or stray punctuation ("rpy6xa", "Slexrponuo,nyueean"). The score is
    ``(hits - BROKEN_WORD_PENALTY * broken) / scored``, clipped to 0..1. When a language has no word list (a code
    outside ``SPELLCHECKER_LANGUAGES``), it is the share of scored words neither broken nor outside the languages'
    alphabets (``ALPHABETS``; with an alphabet unknown too, only the broken ones count, and ``judge`` does not use it).

    Args:
        words: the layer's words as extracted (whitespace-separated, punctuation attached).
        languages: Tesseract language codes joined by '+'.
        skip_code: leave program code out (``_code_like``): for born-digital text, where a listing is what it
            looks like; an OCR layer's code-like tokens are as likely its misreadings.
    Returns:
        ``(score, words_scored)``; the score is 1.0 when no word was scored.
    """
    lists = word_lists(languages)
    alphabets = None if lists else _alphabets(languages)
    scored = hits = broken = 0
    for raw in words:
        token = raw.strip(_EDGE)
        alpha = token.isalpha()  # most words: no digit or punctuation to look for
        letters = token if alpha else [ch for ch in token if ch.isalpha()]
        if len(letters) < MIN_WORD_LETTERS or len(set(letters)) <= MAX_REPEAT_LETTERS:
            continue
        if skip_code and _code_like(token):
            continue
        if scored == MAX_WORDS_SCORED:
            break
        scored += 1
        if (not token.isascii() and _mixed_alphabets(token)) or (not alpha and _broken_inside(token)):
            broken += 1
        elif lists:
            hits += _known(token.lower().replace("ё", "е"), lists)
        elif alphabets and not any(p.search(token) for p in alphabets):
            broken += 1
    if not scored:
        return 1.0, 0
    if not lists:
        return 1.0 - broken / scored, scored
    return max(0.0, (hits - BROKEN_WORD_PENALTY * broken) / scored), scored


def judge(kind: str, words: list[str], languages: str = "rus+eng") -> LayerVerdict:
    """Whether a text layer of this ``kind`` with these ``words`` is trusted to stand in for OCR.

    Only the words decide here; ``text_layer_info`` adds the count rules (too little text, garbage characters,
    pictures without text). With a word list for every language, an invisible OCR layer must score
    ``MIN_SCORE_INVISIBLE`` and a born-digital one ``MIN_SCORE_BORN_DIGITAL``; without one but with every
    language's alphabet known, either must score ``MIN_SCORE_CHARS_ONLY`` on the character signals; with neither
    (e.g. "chi_sim"), and with fewer than ``MIN_WORDS_SCORED`` scored words, the layer is trusted unscored.

    Args:
        kind: from ``layer_kind``.
        words: the layer's words.
        languages: Tesseract language codes joined by '+'.
    Returns:
        The verdict; ``reason`` reads e.g. "invisible OCR layer implausible for rus+eng (score 0.08)".
    """
    label = "invisible OCR layer" if kind == KIND_INVISIBLE_OCR else "text layer"
    if kind == KIND_NONE:
        return LayerVerdict(kind, None, 0, False, "no text layer")
    if not word_lists(languages) and not _alphabets(languages):
        return LayerVerdict(kind, None, 0, True, f"{label} not scored: no word list or alphabet for {languages}")
    score, scored = plausibility(words, languages, skip_code=kind == KIND_BORN_DIGITAL)
    if scored < MIN_WORDS_SCORED:
        return LayerVerdict(kind, None, scored, True, f"{label} not scored: too few words ({scored})")
    if score < min_score(kind, languages):
        return LayerVerdict(kind, score, scored, False, f"{label} implausible for {languages} (score {score:.2f})")
    return LayerVerdict(kind, score, scored, True, f"{label} plausible for {languages} (score {score:.2f})")


def min_score(kind: str, languages: str) -> float:
    """The score a layer of ``kind`` needs for ``languages`` to be trusted."""
    if not word_lists(languages):
        return MIN_SCORE_CHARS_ONLY
    return MIN_SCORE_INVISIBLE if kind == KIND_INVISIBLE_OCR else MIN_SCORE_BORN_DIGITAL


def is_broken(token: str) -> bool:
    """A word whose characters no real word has: Latin and Cyrillic letters together, or a digit or stray
    punctuation between letters.

    >>> [is_broken(w) for w in ("rpy6xa", "Slexrponuo,nyueean", "Cистема", "PostgreSQL", "т.е.", "COVID-19")]
    [True, True, True, False, False, False]
    """
    return _mixed_alphabets(token) or _broken_inside(token)


def _mixed_alphabets(token: str) -> bool:
    return bool(_CYRILLIC.search(token) and _LATIN.search(token))


def _broken_inside(token: str) -> bool:
    return bool(_INNER_DIGIT.search(token) or _INNER_PUNCT.search(token))


@dataclass(frozen=True)
class _WordList:
    words: frozenset[str]
    stems: frozenset[str] | None


@functools.lru_cache(maxsize=None)
def word_lists(languages: str) -> tuple[_WordList, ...]:
    """The word lists for ``languages`` (Tesseract codes joined by '+'), loaded once per process; empty when
    any language has none (a partial set would count that language's words as misses)."""
    codes = [c for c in languages.split("+") if c and c != "osd"]
    if not codes or any(c not in SPELLCHECKER_LANGUAGES for c in codes):
        return ()
    return tuple(_load(SPELLCHECKER_LANGUAGES[c]) for c in codes)


@functools.lru_cache(maxsize=None)
def _load(code: str) -> _WordList:
    from spellchecker import SpellChecker  # 20-350 ms a list: only when a page is first scored

    words = frozenset(w.replace("ё", "е") for w in SpellChecker(language=code, distance=1).word_frequency.dictionary)
    stems = None
    if code in STEMMED_LISTS:
        stems = frozenset(w[:len(w) - k] for w in words for k in range(STEM_CUT + 1) if len(w) - k >= MIN_STEM)
    return _WordList(words, stems)


def _known(word: str, lists: tuple[_WordList, ...]) -> bool:
    if _in_lists(word, lists):
        return True
    # "научно-исследовательской", "GNU/Linux", "Введение.....3": every part with letters enough is a word.
    parts = [p for p in _SPLIT.split(word) if sum(1 for ch in p if ch.isalpha()) >= MIN_WORD_LETTERS]
    return bool(parts) and parts != [word] and all(_in_lists(p, lists) for p in parts)


@functools.lru_cache(maxsize=None)
def _alphabets(languages: str) -> tuple[re.Pattern, ...]:
    """The letter patterns of ``languages``' alphabets; empty (no check) when one has no known alphabet."""
    codes = [c for c in languages.split("+") if c and c != "osd"]
    if not codes or any(c not in ALPHABETS for c in codes):
        return ()
    return tuple({_SCRIPT_PATTERNS[ALPHABETS[c]] for c in codes})


def _in_lists(word: str, lists: tuple[_WordList, ...]) -> bool:
    if any(word in wl.words for wl in lists):
        return True
    n = len(word)
    return any(word[:n - k] in wl.stems for wl in lists if wl.stems is not None
               for k in range(STEM_CUT + 1) if n - k >= MIN_STEM)
