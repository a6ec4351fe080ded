"""A self-check of OCR settings on the user's own born-digital pages: their text layer is the true text. No Dagster.

``sample_pages`` picks pages whose text layer is usable and whose pictures hold no text (the reference would be
incomplete there), a few of each kind (``page_kind``); ``evaluate`` renders and OCRs them with each ``Setting``
(any engine of ``ENGINES``: ``parse_setting`` reads ``pdf-ocr eval --setting``; ``build_engine`` builds it with the
pipeline's options and factory) and scores the OCR against the text layer (CER, WER), one row a page and setting
(``ROW_SCHEMA``, with the engine's output tokens); ``summarise`` and ``recommend`` condense the rows.
CER is the Levenshtein distance over the reference's length after ``normalise`` (``bench/ocr_quality.py``'s).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pymupdf
from rapidfuzz.distance import Levenshtein

from .engines import ENGINES  # the engines the pipeline knows: one list

KINDS = ("prose", "table", "title", "contents")

#: A contents page has at least this many lines ending in a dot leader and a page number.
CONTENTS_MIN_LEADER_LINES = 5
#: A gap this wide between neighbouring words on a line separates table cells: wider than justified prose's
#: stretched spaces (a few points at 14 pt), narrower than a cell's padding and the next column's indent.
TABLE_CELL_GAP_PT = 18.0
#: A table has at least this many lines of three or more cells ...
TABLE_MIN_GRID_LINES = 4
#: ... making up at least this share of the page's lines (a page with one small table stays prose).
TABLE_MIN_GRID_SHARE = 0.3
#: Or it is ruled: at least this many horizontal and this many vertical lines drawn (cell borders).
TABLE_MIN_RULES = 4
#: A title page (a cover, a section title, an abstract's keywords) has fewer words than this ...
TITLE_MAX_WORDS = 60
#: ... or its type is this large (median span size, points): too little running text to count as prose.
TITLE_MIN_SIZE_PT = 20.0
#: Pages are rendered no larger than this (``pdf.render``'s default for the pipeline).
MAX_PIXELS = 40_000_000

_LEADER_LINE = re.compile(r"(?:\.\s*){5,}\d{1,4}\s*$")


def normalise(text: str) -> str:
    """Dot leaders dropped, whitespace collapsed to single spaces: layout differences are not OCR errors."""
    return re.sub(r"\s+", " ", re.sub(r"(?:\.\s*){3,}", " ", text)).strip()


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over the normalised reference's length (can exceed 1)."""
    ref = normalise(reference)
    hyp = normalise(hypothesis)
    return Levenshtein.distance(ref, hyp) / len(ref) if ref else float(bool(hyp))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: edit distance over words, over the normalised reference's word count."""
    ref = normalise(reference).split()
    hyp = normalise(hypothesis).split()
    return Levenshtein.distance(ref, hyp) / len(ref) if ref else float(bool(hyp))


def page_kind(page: pymupdf.Page) -> str:
    """The page's kind: "contents" (dot leaders), "table" (lines of cells), "title" (few words or large type),
    "table" again (ruled: drawn cell borders), else "prose". Checked in that order."""
    from .pdf.text import LINE_TOLERANCE, page_words

    words = page_words(page)
    lines: list[list] = []
    for w in words:  # reading order, line by line: a line ends where the next word is lower or back at the left
        if lines and abs(w.y1 - lines[-1][-1].y1) <= LINE_TOLERANCE and w.x0 >= lines[-1][-1].x1:
            lines[-1].append(w)
        else:
            lines.append([w])
    texts = [" ".join(w.text for w in line) for line in lines]
    if sum(1 for t in texts if _LEADER_LINE.search(t)) >= CONTENTS_MIN_LEADER_LINES:
        return "contents"
    grid = sum(1 for line in lines
               if sum(1 for a, b in zip(line, line[1:]) if b.x0 - a.x1 >= TABLE_CELL_GAP_PT) >= 2)
    if lines and grid >= TABLE_MIN_GRID_LINES and grid / len(lines) >= TABLE_MIN_GRID_SHARE:
        return "table"
    sizes = sorted(s["size"] for b in page.get_text("dict")["blocks"] if b["type"] == 0
                   for line in b["lines"] for s in line["spans"] if s["text"].strip())
    if len(words) < TITLE_MAX_WORDS or (sizes and sizes[len(sizes) // 2] >= TITLE_MIN_SIZE_PT):
        return "title"
    if _ruled(page):  # after the title test: a diagram's boxes and connectors are rules too, round few words
        return "table"
    return "prose"


def _ruled(page: pymupdf.Page) -> bool:
    """Whether the page draws enough horizontal and vertical rules to be a table's borders."""
    horizontal = vertical = 0
    for drawing in page.get_drawings():
        for item in drawing["items"]:
            if item[0] == "l":
                a, b = item[1], item[2]
                horizontal += abs(a.y - b.y) < 1 and abs(a.x - b.x) > 10
                vertical += abs(a.x - b.x) < 1 and abs(a.y - b.y) > 10
            elif item[0] == "re":  # a thin rectangle is a rule too
                r = item[1]
                horizontal += r.height < 2 and r.width > 10
                vertical += r.width < 2 and r.height > 10
    return horizontal >= TABLE_MIN_RULES and vertical >= TABLE_MIN_RULES


def sample_pages(pdf_paths: Iterable[str | os.PathLike], per_kind: int, seed: int,
                 languages: str = "rus+eng") -> list[tuple[Path, int, str]]:
    """Up to ``per_kind`` pages of each kind, drawn with ``random.Random(seed)``: the same inputs and seed give
    the same sample. Only pages whose text layer is usable (``inspect.text_layer_info``) and that have no picture
    that may hold text (``regions.picture_regions``) qualify. Returns ``(path, page_no, kind)`` in kind order,
    then path and page order.
    """
    from .pdf.inspect import open_pdf, text_layer_info
    from .pdf.regions import picture_regions

    candidates: dict[str, list[tuple[Path, int, str]]] = {kind: [] for kind in KINDS}
    for path in sorted(Path(p) for p in pdf_paths):
        with open_pdf(path) as doc:
            for page in doc:
                if text_layer_info(page, languages).usable and not picture_regions(page):
                    kind = page_kind(page)
                    candidates[kind].append((path, page.number + 1, kind))
    rng = random.Random(seed)
    out = []
    for kind in KINDS:
        pool = candidates[kind]
        out.extend(sorted(rng.sample(pool, min(per_kind, len(pool)))))
    return out


@dataclass(frozen=True)
class Setting:
    """One OCR setting to try: the engine and what it is given.

    ``dpi``: the page's rendering (Tesseract reads it as is; the DeepSeek engines scale it to their own view).
    ``model``, ``family``, ``mode`` (the engines' ``resolution``: base or gundam), ``prompt`` (a version in
    ``engines.prompts.PROMPTS``, an alias of ``PROMPT_ALIASES``, or a custom text) and ``transport`` apply to the
    DeepSeek engines only; ``model`` None is the pipeline's (``PDF_OCR_MODEL``). ``options``: further engine
    options as ``(name, value)`` pairs (``max_tokens``, ``load_format``, ``batch_size``, ``server_urls``...).
    """

    name: str
    engine: str = "tesseract"
    dpi: int = 200
    languages: str = "rus+eng"
    psm: int = 3
    model: str | None = None
    family: str = "auto"
    mode: str = "base"
    prompt: str = "ocr_v1"
    transport: str = "in-process"
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def is_model(self) -> bool:
        """Whether a model engine reads the pages (model, family, mode, prompt apply)."""
        return self.engine != "tesseract"


#: Short prompt names for ``--setting prompt=...``: the engines' prompts by what they ask for.
PROMPT_ALIASES = {"grounded": "ocr_v1", "ocr": "ocr_v1", "markdown": "ocr_v1", "free": "free_ocr_v1",
                  "plain": "free_ocr_v1", "bpmn": "bpmn_v1", "figure": "figure_v1"}
#: ``--setting`` keys: the Setting field (or engine option) each sets.
SETTING_KEYS = {"name": "name", "engine": "engine", "model": "model", "family": "family",
                "model_family": "family", "mode": "mode", "resolution": "mode", "prompt": "prompt", "dpi": "dpi",
                "languages": "languages", "lang": "languages", "psm": "psm", "transport": "transport",
                "url": "server_urls", "max_tokens": "max_tokens", "batch": "batch_size",
                "batch_size": "batch_size", "load_format": "load_format",
                "gpu_memory_utilization": "gpu_memory_utilization"}
_INT_OPTIONS = {"max_tokens", "batch_size"}
_FLOAT_OPTIONS = {"gpu_memory_utilization"}


def prompt_version(prompt: str) -> str:
    """The version an engine records for ``prompt`` (an alias, a version, or a custom text)."""
    from .engines.prompts import get_prompt

    return get_prompt(PROMPT_ALIASES.get(prompt, prompt)).version


def setting_name(s: Setting) -> str:
    """A readable name: ``tesseract rus+eng 200dpi``; ``deepseek-vllm ocr2 deepseek-ocr-2 base ocr_v1 200dpi``."""
    if not s.is_model:
        return f"tesseract {s.languages} {s.dpi}dpi" + (f" psm{s.psm}" if s.psm != 3 else "")
    model = Path(s.model.rstrip("/")).name if s.model else "default-model"
    family = "" if s.family == "auto" else f" {s.family}"
    return f"{s.engine} {model}{family} {s.mode} {prompt_version(s.prompt)} {s.dpi}dpi"


def parse_setting(text: str, *, dpi: int = 200, languages: str = "rus+eng") -> Setting:
    """``engine=deepseek-vllm,model=/models/ocr2,family=deepseek-ocr-2,mode=base,prompt=grounded`` -> a Setting.

    Keys (``SETTING_KEYS``): engine, model, family, mode (base|gundam), prompt (a version such as ``ocr_v1``, an
    alias of ``PROMPT_ALIASES``, or a custom text without commas), dpi, languages, psm, transport
    (in-process|server), url (a server, with transport=server), max_tokens, batch, load_format, name. ``dpi`` and
    ``languages`` default to the arguments (the command's). Unnamed settings get ``setting_name``.

    Raises:
        ValueError: an empty or malformed pair, an unknown key or engine, or a bad value.
    """
    from .engines.families import FAMILY_NAMES

    fields: dict[str, Any] = {"dpi": dpi, "languages": languages}
    options: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip().lower().replace("-", "_"), value.strip()
        if not eq or not value:
            raise ValueError(f"{part!r}: expected key=value")
        if key not in SETTING_KEYS:
            raise ValueError(f"unknown key {key!r}; known: {', '.join(sorted(SETTING_KEYS))}")
        target = SETTING_KEYS[key]
        try:
            if target in ("dpi", "psm"):
                value = int(value)
            elif target in _INT_OPTIONS:
                value = int(value)
            elif target in _FLOAT_OPTIONS:
                value = float(value)
        except ValueError:
            raise ValueError(f"{key}={value!r}: not a number") from None
        if target == "server_urls":
            value = (value,)
        if target in Setting.__dataclass_fields__:
            fields[target] = value
        else:
            options[target] = value
    engine = fields.setdefault("engine", "tesseract")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if fields.get("mode", "base") not in ("base", "gundam"):
        raise ValueError(f"mode={fields['mode']!r}: base or gundam")
    if fields.get("family", "auto") not in FAMILY_NAMES:
        raise ValueError(f"family={fields['family']!r}: one of {', '.join(FAMILY_NAMES)}")
    if fields.get("transport", "in-process") not in ("in-process", "server"):
        raise ValueError(f"transport={fields['transport']!r}: in-process or server")
    if not 36 <= fields["dpi"] <= 600:
        raise ValueError(f"dpi={fields['dpi']}: between 36 and 600")
    if engine == "tesseract":
        ignored = sorted({k for k in fields if k in ("model", "family", "mode", "prompt", "transport")} | set(options))
        if ignored:
            raise ValueError(f"{', '.join(ignored)}: not Tesseract settings (dpi, languages, psm)")
    setting = Setting(name="", **{k: v for k, v in fields.items() if k != "name"},
                      options=tuple(sorted(options.items())))
    return replace(setting, name=fields.get("name") or setting_name(setting))


def engine_options(setting: Setting, base=None) -> dict[str, Any]:
    """The engine options the pipeline would build for this setting: what ``resources.OcrEngineResource.
    engine_options`` gives for the pipeline's settings (``base``, default ``Settings.from_env()``: tessdata,
    workers, vLLM servers and threads, batch, device) with the setting's engine, model, family, languages and
    transport (a test holds the two equal; Dagster stays out of this module), plus its mode, prompt, psm and
    ``options``."""
    from .settings import Settings

    b = base if base is not None else Settings.from_env()
    fallback = {"tesseract_languages": setting.languages, "tesseract_tessdata_dir": b.tessdata_dir}
    if setting.engine == "deepseek-vllm":
        options = {"model": setting.model or b.model, "transport": setting.transport,
                   "server_urls": tuple(b.vllm_urls), "resolution": setting.mode, "max_tokens": 4096,
                   "concurrency": b.vllm_concurrency, "gpus": b.vllm_gpus, "prep_workers": b.vllm_prep_workers,
                   "max_retries": 2, "render_threads": b.vllm_render_threads,
                   "engine_threads": b.vllm_engine_threads, "gpu_memory_utilization": 0.9,
                   "model_family": setting.family, **fallback}
    elif setting.engine == "deepseek-transformers":
        options = {"model": setting.model or b.model, "model_family": setting.family, "max_tokens": 4096,
                   "batch_size": b.transformers_batch_size, "device": b.transformers_device,
                   "dtype": b.transformers_dtype, "prep_workers": b.vllm_prep_workers, "max_retries": 2,
                   **fallback}
    else:
        options = {"languages": setting.languages, "tessdata_dir": b.tessdata_dir, "workers": b.workers,
                   "page_timeout_s": b.page_timeout_s}
    if setting.is_model:
        options["resolution"] = setting.mode  # the Transformers engine refuses gundam with a clear error
        options["text_prompt"] = PROMPT_ALIASES.get(setting.prompt, setting.prompt)
    else:
        options["psm"] = setting.psm
    options.update(dict(setting.options))
    return options


def build_engine(setting: Setting, base=None):
    """The setting's engine, through the pipeline's factory (``engines.make_engine``). A GPU engine loads its model
    here, once.

    Raises:
        MissingDependencyError, EngineUnavailableError, ValueError (bad options), or the library's own error.
    """
    from .engines import make_engine
    from .errors import EngineUnavailableError

    options = engine_options(setting, base)
    model = options.get("model")
    if setting.is_model and model and _looks_like_path(model) and not Path(model).expanduser().is_dir():
        raise EngineUnavailableError(f"no model folder {model}", hint="give the folder holding config.json, "
                                                                      "the weights and the tokenizer")
    return make_engine(setting.engine, options)


def _looks_like_path(model: str) -> bool:
    """A folder rather than a hub name (``org/name``): absolute, relative with a dot, home, or deeper."""
    return model.startswith(("/", "./", "../", "~")) or model.count("/") >= 2


def _engine_key(setting: Setting) -> Setting:
    """What decides the engine: settings equal but for name, dpi and prompt share one (those are per page)."""
    return replace(setting, name="", prompt="", dpi=0) if setting.is_model else replace(setting, name="", dpi=0)


def _use_prompt(engine, setting: Setting) -> None:
    """Point a shared model engine at this setting's prompt (the text pages' prompt is request text)."""
    prompts = getattr(engine, "prompts", None)
    if setting.is_model and isinstance(prompts, dict):
        from .engines.prompts import get_prompt

        engine.prompts = {**prompts, "text": get_prompt(PROMPT_ALIASES.get(setting.prompt, setting.prompt))}


def evaluate(samples: list[tuple[Path, int, str]], settings: list[Setting],
             build: Callable[[Setting], Any] | None = None, *, base=None) -> list[dict]:
    """Render and OCR every sampled page with every setting; one row per (setting, page) (``ROW_SCHEMA``), scored
    against the text layer (``pdf.text.page_text``, in reading order as OCR reads).

    Each setting's engine is built once (``build``, default ``build_engine`` on ``base`` settings) and given all
    the sampled pages in one ``ocr_pages`` call, so a GPU engine batches them; settings that differ only in their
    prompt or dpi share one engine (model loaded once). A setting whose engine cannot be built, or that fails part
    way, gets rows with ``error`` set and no CER for the pages it did not read; the other settings still run.

    Raises:
        ValueError: a setting names an engine other than ``ENGINES``.
    """
    for s in settings:
        if s.engine not in ENGINES:
            raise ValueError(f"setting {s.name!r}: unknown engine {s.engine!r} (known: {', '.join(ENGINES)})")
    build = build or partial(build_engine, base=base)
    first: dict[Setting, int] = {}
    for i, s in enumerate(settings):
        first.setdefault(_engine_key(s), i)
    ordered = sorted(settings, key=lambda s: first[_engine_key(s)])  # stable: shared engines run back to back
    rows: list[dict] = []
    engine, key = None, None
    try:
        for setting in ordered:
            if _engine_key(setting) != key:
                if engine is not None:
                    engine.close()
                engine, key = None, None
                try:
                    engine = build(setting)
                except Exception as e:  # noqa: BLE001 - any engine's failure to start: this setting only
                    rows.extend(_failed_rows(samples, setting, f"engine not built: {_describe(e)}"))
                    continue
                key = _engine_key(setting)
            _use_prompt(engine, setting)
            rows.extend(_run_setting(engine, samples, setting))
    finally:
        if engine is not None:
            engine.close()
    return rows


def _describe(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, ImportError):
        text += " (install the gpu extra: vLLM, or torch and transformers)"
    return text.splitlines()[0] if len(text) > 400 else text


def _run_setting(engine, samples, setting: Setting) -> list[dict]:
    """One setting over every sampled page in one ``ocr_pages`` call; ``seconds`` shares out its wall time."""
    out: list[dict] = []
    renders: dict[tuple[str, int], tuple[str, float]] = {}  # (path, page) -> (reference, render seconds)
    started = time.perf_counter()
    try:
        for (path, page_no, kind), page in zip(samples, engine.ocr_pages(_images(samples, setting, renders))):
            reference, render_s = renders.pop((str(path), page_no))
            out.append(_row(setting, engine, path, page_no, kind, reference, render_s, page))
    except Exception as e:  # noqa: BLE001 - the engine broke part way: keep what it read, mark the rest
        out.extend(_failed_rows(samples[len(out):], setting, f"engine failed: {_describe(e)}"))
    wall = time.perf_counter() - started
    read = [r for r in out if r["cer"] is not None]
    weights = [r["render_s"] + r["ocr_s"] for r in read]
    total = sum(weights)
    for r, w in zip(read, weights):
        r["seconds"] = wall * (w / total if total > 0 else 1 / len(read))
    return out


def _row(setting: Setting, engine, path, page_no: int, kind: str, reference: str, render_s: float, page) -> dict:
    ref = normalise(reference)
    family = page.model_family or getattr(getattr(engine, "family", None), "name", None) or setting.family
    return {
        **_setting_columns(setting, engine), "path": str(path), "page_no": page_no, "kind": kind,
        "ref_chars": len(ref), "ref_words": len(ref.split()),
        "cer": cer(reference, page.text), "wer": wer(reference, page.text),
        "render_s": render_s, "ocr_s": page.latency_s, "seconds": render_s + page.latency_s,
        "tokens_in": page.tokens_in, "tokens_out": page.tokens_out, "source": page.source,
        "finish_reason": page.finish_reason, "attempts": page.attempts, "error": page.error,
        **({"model_family": family} if setting.is_model else {}),
        **({"prompt": page.prompt_version} if setting.is_model and page.prompt_version else {}),
    }


def _setting_columns(setting: Setting, engine=None) -> dict:
    options = getattr(engine, "options", None)
    model = getattr(options, "model", None) or setting.model
    return {"setting": setting.name, "engine": setting.engine,
            "model": model if setting.is_model else None,
            "model_family": setting.family if setting.is_model else None,
            "mode": setting.mode if setting.is_model else None,
            "prompt": prompt_version(setting.prompt) if setting.is_model else None,
            "dpi": setting.dpi, "languages": setting.languages, "psm": None if setting.is_model else setting.psm}


def _failed_rows(samples, setting: Setting, error: str) -> list[dict]:
    """Rows for pages a setting did not read: the page named, ``error`` set, nothing scored."""
    return [{**_setting_columns(setting), "path": str(path), "page_no": page_no, "kind": kind,
             "ref_chars": None, "ref_words": None, "cer": None, "wer": None, "render_s": None, "ocr_s": None,
             "seconds": None, "tokens_in": None, "tokens_out": None, "source": "none", "finish_reason": None,
             "attempts": 0, "error": error} for path, page_no, kind in samples]


#: The per-page rows' columns (``pdf-ocr eval --out``, ``<data_dir>/warehouse/eval_pages/``), in order.
ROW_SCHEMA = {
    "setting": "String", "engine": "String", "model": "String", "model_family": "String", "mode": "String",
    "prompt": "String", "dpi": "Int64", "languages": "String", "psm": "Int64", "path": "String",
    "page_no": "Int64", "kind": "String", "ref_chars": "Int64", "ref_words": "Int64", "cer": "Float64",
    "wer": "Float64", "render_s": "Float64", "ocr_s": "Float64", "seconds": "Float64", "tokens_in": "Int64",
    "tokens_out": "Int64", "source": "String", "finish_reason": "String", "attempts": "Int64", "error": "String",
}


def rows_frame(rows: list[dict], **constants):
    """The rows as a polars frame with ``ROW_SCHEMA``'s types (null columns typed too), plus ``constants`` as
    columns (the command adds ``evaluated_at`` and ``seed``)."""
    import polars as pl

    schema = {k: getattr(pl, t) for k, t in ROW_SCHEMA.items()}
    frame = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")
    return frame.with_columns(pl.lit(v).alias(k) for k, v in constants.items()) if constants else frame


def _images(samples, setting: Setting, renders: dict) -> Iterator:
    """The sampled pages rendered at the setting's resolution, each page's reference text kept in ``renders``."""
    from .engines.base import PageImage
    from .pdf.inspect import open_pdf
    from .pdf.render import render_page
    from .pdf.text import page_text

    docs: dict[str, pymupdf.Document] = {}
    try:
        for path, page_no, _ in samples:
            if str(path) not in docs:
                docs[str(path)] = open_pdf(path)
            page = docs[str(path)][page_no - 1]
            r = render_page(page, setting.dpi, MAX_PIXELS, languages=setting.languages)
            renders[(str(path), page_no)] = (page_text(page), r.render_s)
            yield PageImage(str(path), page_no, r.png or b"", r.dpi or setting.dpi, r.width_pt, r.height_pt)
    finally:
        for doc in docs.values():
            doc.close()


def summarise(rows: list[dict]) -> list[dict]:
    """Per setting and kind, plus kind "all": ``pages`` sampled, ``failed`` (rows with an error), reference
    ``ref_chars`` of the pages read, ``cer`` (weighted by reference chars), ``wer`` (weighted by reference words),
    ``pages_per_s`` (pages read over their share of the setting's wall time: render and OCR, model load left
    out), ``tokens_per_page`` (mean output tokens where the engine reports them, else None). A group with no page
    read has ``cer``, ``wer`` and ``pages_per_s`` None."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["setting"], row["kind"]), []).append(row)
        groups.setdefault((row["setting"], "all"), []).append(row)
    order = {kind: i for i, kind in enumerate((*KINDS, "all"))}
    out = []
    for (setting, kind), group in sorted(groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], -1))):
        read = [r for r in group if r.get("cer") is not None]
        chars = sum(r["ref_chars"] for r in read)
        words = sum(r["ref_words"] for r in read)
        seconds = sum(r["seconds"] or 0.0 for r in read)
        tokens = [r["tokens_out"] for r in group if r.get("tokens_out") is not None]
        out.append({
            "setting": setting, "kind": kind, "pages": len(group),
            "failed": sum(1 for r in group if r.get("error")), "ref_chars": chars,
            "cer": (sum(r["cer"] * r["ref_chars"] for r in read) / chars if chars else 0.0) if read else None,
            "wer": (sum(r["wer"] * r["ref_words"] for r in read) / words if words else 0.0) if read else None,
            "pages_per_s": (len(read) / seconds if seconds else 0.0) if read else None,
            "tokens_per_page": sum(tokens) / len(tokens) if tokens else None,
        })
    return out


def setting_errors(rows: list[dict]) -> dict[str, str]:
    """The settings that read no page at all, with the first error of each (an engine that was not built)."""
    by_setting: dict[str, list[dict]] = {}
    for row in rows:
        by_setting.setdefault(row["setting"], []).append(row)
    return {name: next((r["error"] for r in group if r.get("error")), "no page read")
            for name, group in by_setting.items() if all(r.get("cer") is None for r in group)}


def recommend(summary: list[dict]) -> str:
    """The setting with the lowest CER over all its pages (the faster on a tie), and why, in a sentence. Settings
    that read no page are left out and named."""
    overall = [s for s in summary if s["kind"] == "all"]
    judged = [s for s in overall if s.get("cer") is not None]
    failed = [s["setting"] for s in overall if s.get("cer") is None]
    not_run = f" Not judged (no page read): {', '.join(failed)}." if failed else ""
    if not judged:
        if failed:
            return f"No setting read any page.{not_run}"
        return "No pages to judge by: no sampled page had a usable text layer without pictures."
    rank = lambda s: (round(s["cer"], 4), -(s["pages_per_s"] or 0.0))  # noqa: E731
    best = min(judged, key=rank)
    others = [s for s in judged if s is not best]
    why = f"the lowest CER, {best['cer']:.2%} over {best['pages']} pages, at {best['pages_per_s']:.2f} pages/s"
    if others:
        runner = min(others, key=rank)
        why += f" (next: {runner['setting']}, {runner['cer']:.2%} at {runner['pages_per_s']:.2f} pages/s)"
    return f"Recommended: {best['setting']}: {why}.{not_run}"


def format_summary(summary: list[dict]) -> str:
    """The summary as a text table, one line per setting and kind ("-": not measured, "n/a": the engine reports
    no tokens)."""
    width = max([24, *(len(s["setting"]) for s in summary)])

    def pct(v):
        return f"{'-':>7s}" if v is None else f"{v:7.2%}"

    lines = [f"{'setting':{width}s} {'kind':9s} {'pages':>5s} {'failed':>6s} {'chars':>7s} {'CER':>7s} {'WER':>7s} "
             f"{'pages/s':>8s} {'tok/page':>8s}"]
    for s in summary:
        rate = f"{'-':>8s}" if s.get("pages_per_s") is None else f"{s['pages_per_s']:8.2f}"
        tokens = f"{'n/a':>8s}" if s.get("tokens_per_page") is None else f"{s['tokens_per_page']:8.0f}"
        lines.append(f"{s['setting']:{width}s} {s['kind']:9s} {s['pages']:5d} {s.get('failed', 0):6d} "
                     f"{s['ref_chars']:7d} {pct(s['cer'])} {pct(s['wer'])} {rate} {tokens}")
    return "\n".join(lines)
