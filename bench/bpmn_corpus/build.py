"""Build a corpus folder: every model x renderer (look) x language x variant, with the renderer's truth in page points.

    .venv/bin/python -m bench.bpmn_corpus.build --models DIR --out /tmp/bpmn_corpus/out [--limit N]
        [--renderers bpmnjs bpmnvis] [--themes default bold] [--languages en ru]
        [--variants vector scan pasted] [--dpi N] [--testdata ../shared/testdata]

``DIR``: ``.bpmn`` files with DI (e.g. from ``bench.bpmn_corpus.sources``); ``--limit N`` takes N of them round
robin over the exercises (``sources.sample``). Renderers: ``RENDERERS`` (name -> module with ``available()`` and
``render(xml, out_pdf, [theme=...,] [seed=...,] driver=...)``; one Chromium, ``render_bpmnjs.chromium()``, serves
all; a ``seed`` parameter gets the page's seed); a module that is not there (``render_sketchy`` before it was
written) is left out. Themes apply to renderers whose module has ``THEMES`` (bpmn-js: ``default``, ``bold``); the
others draw their default look only.

Output stems ``<model>-<look>[-ru]-<variant>``: ``look`` is the theme for bpmn-js (so the stems of earlier corpora
stay ``<model>-<theme>-<variant>``), the renderer's name for the others (``<renderer>_<theme>`` for a non-default
theme of theirs); ``-ru`` marks Russian labels (English has no mark). Each with ``.pdf``, ``.truth.bpmn`` (DI in
that page's points) and ``.truth.json`` (``render_bpmnjs.Truth`` plus ``corpus``: model, renderer, theme, look,
lang, variant and the variant's drawn parameters and point map ``affine``). Variants (``variants.py``):

- ``vector``: the renderer's drawing printed by Chromium (vector paths, text layer);
- ``scan``: that page at a seeded 100-300 dpi (``--dpi N``: fixed, for pasted pictures too), rotated up to 2
  degrees, grey, blur, noise, specks, uneven illumination and contrast, JPEG q 60-85, image only; truth rotated
  the same way;
- ``pasted``: that page as a 150-300 dpi picture (half with light noise) on an A4 page of Russian body text with a
  caption; truth scaled and shifted into the picture's rectangle.

Languages: ``en`` (the model's labels) and ``ru`` (``variants.translate_xml``: glossary, word list, else
transliteration) rendered by the renderer itself. Resumable: an output whose ``.truth.bpmn`` exists is skipped.
One Chromium serves all renders. A render that fails is listed in ``failed.txt`` and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import sys
import time
from pathlib import Path

from bench.bpmn_corpus import variants as vr

#: renderer name -> module (one line each; a module that is not there is left out).
RENDERERS = {
    "bpmnjs": "bench.bpmn_corpus.render_bpmnjs",
    "bpmnvis": "bench.bpmn_corpus.render_bpmnvis",
    "sketchy": "bench.bpmn_corpus.render_sketchy",
}
VARIANTS = ("vector", "scan", "pasted")
LANGUAGES = ("en", "ru")
DEFAULT_RENDERER = "bpmnjs"  # its looks are named by the theme alone (the stems of the first corpus)


def renderer_module(name: str):
    """The renderer's module, or ``None`` when it is not there (not yet written)."""
    spec = RENDERERS.get(name)
    if spec is None or importlib.util.find_spec(spec) is None:
        return None
    return importlib.import_module(spec)


def available_renderers() -> list[str]:
    return [n for n in RENDERERS if renderer_module(n) is not None]


def themes_of(mod) -> list[str]:
    return sorted(getattr(mod, "THEMES", None) or {"default": {}})


def look_name(renderer: str, theme: str) -> str:
    """The ``look`` part of a stem: the theme for bpmn-js, else the renderer (``<renderer>_<theme>`` for a
    non-default theme)."""
    if renderer == DEFAULT_RENDERER:
        return theme
    return renderer if theme == "default" else f"{renderer}_{theme}"


def stem_of(model: str, renderer: str, theme: str, lang: str, variant: str) -> str:
    return f"{model}-{look_name(renderer, theme)}{'' if lang == 'en' else '-' + lang}-{variant}"


def _seed(name: str) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)


def _render(mod, xml: str, out_pdf: Path, theme: str, driver, seed: int):
    """``mod.render``: with ``theme`` where the module has ``THEMES``, with the page's ``seed`` where ``render``
    takes one (sketchy strokes)."""
    import inspect
    kw = {"driver": driver}
    params = inspect.signature(mod.render).parameters
    if "seed" in params:
        kw["seed"] = seed
    if hasattr(mod, "THEMES"):
        kw["theme"] = theme
    elif theme != "default":
        raise ValueError(f"{mod.__name__} has only the default look")
    return mod.render(xml, out_pdf, **kw)


def _write(out: Path, stem: str, xml: str, truth: dict) -> None:
    (out / f"{stem}.truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / f"{stem}.truth.bpmn").write_text(xml, encoding="utf-8")  # last: marks the output done


def build(models: list[Path], out: Path, themes, variants, dpi: int | None = None, log=print, *,
          renderers=(DEFAULT_RENDERER,), languages=("en",), testdata: Path | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    counts = {"rendered": 0, "scanned": 0, "pasted": 0, "skipped": 0, "failed": 0}
    failed = out / "failed.txt"
    done_failed = set(failed.read_text().split()) if failed.exists() else set()
    driver_cm = driver = None
    jobs = []
    for r in renderers:
        mod = renderer_module(r)
        if mod is None:
            log(f"renderer {r}: module {RENDERERS.get(r)} not there, left out")
            continue
        why = mod.available() if hasattr(mod, "available") else None
        if why:
            log(f"renderer {r}: {why}; left out")
            continue
        ts = [t for t in themes if t in themes_of(mod)]
        if not ts:
            log(f"renderer {r}: none of the themes {list(themes)} ({themes_of(mod)}): default look only")
            ts = ["default"]
        jobs += [(r, mod, t) for t in ts]
    try:
        for m in models:
            for r, mod, theme in jobs:
                for lang in languages:
                    base = stem_of(m.stem, r, theme, lang, "vector")[: -len("-vector")]
                    meta = {"model": m.stem, "renderer": r, "theme": theme, "look": look_name(r, theme),
                            "lang": lang}
                    vec = out / f"{base}-vector.pdf"
                    if base in done_failed:
                        counts["failed"] += 1
                        continue
                    need = [v for v in variants if not (out / f"{base}-{v}.truth.bpmn").exists()]
                    if not need:
                        counts["skipped"] += 1
                        continue
                    if not (out / f"{base}-vector.truth.bpmn").exists():
                        if driver is None:
                            from bench.bpmn_corpus import render_bpmnjs as rb
                            driver_cm = rb.chromium()
                            driver = driver_cm.__enter__()
                        xml = m.read_text(encoding="utf-8")
                        try:
                            if lang == "ru":
                                xml = vr.translate_xml(xml)
                            truth = _render(mod, xml, vec, theme, driver, _seed(base) % 100_000)
                        except Exception as e:  # noqa: BLE001 - reported, the rest of the corpus goes on
                            log(f"{base}: render failed: {str(e)[:120]}")
                            with open(failed, "a") as f:
                                f.write(base + "\n")
                            counts["failed"] += 1
                            continue
                        tj = json.loads(truth.to_json())
                        tj["pdf"] = vec.name
                        tj["corpus"] = {**meta, "variant": "vector", "affine": list(vr.IDENTITY)}
                        _write(out, f"{base}-vector", truth.xml, tj)
                        counts["rendered"] += 1
                    vxml = (out / f"{base}-vector.truth.bpmn").read_text(encoding="utf-8")
                    vjson = json.loads((out / f"{base}-vector.truth.json").read_text(encoding="utf-8"))
                    for variant in ("scan", "pasted"):
                        stem = f"{base}-{variant}"
                        if variant not in variants or (out / f"{stem}.truth.bpmn").exists():
                            continue
                        try:
                            if variant == "scan":  # the seed of the first corpus's scans
                                aff, size, info = vr.make_scan(vec, out / f"{stem}.pdf", _seed(base), dpi)
                            else:
                                aff, size, info = vr.make_pasted(vec, out / f"{stem}.pdf", _seed(stem), testdata, dpi)
                        except Exception as e:  # noqa: BLE001
                            log(f"{stem}: {variant} failed: {str(e)[:160]}")
                            counts["failed"] += 1
                            continue
                        tj = vr.transform_truth_json(vjson, aff, size)
                        tj["pdf"] = f"{stem}.pdf"
                        tj["corpus"] = {**meta, "variant": variant, **info, "affine": list(aff)}
                        _write(out, stem, vr.transform_truth_xml(vxml, aff), tj)
                        counts["scanned" if variant == "scan" else "pasted"] += 1
                    if "vector" not in variants:  # the vector page was only a step to the others
                        for suffix in (".pdf", ".truth.bpmn", ".truth.json"):
                            (out / f"{base}-vector{suffix}").unlink(missing_ok=True)
    finally:
        if driver_cm is not None:
            driver_cm.__exit__(None, None, None)
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, required=True, help="folder of .bpmn files with DI")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="N models, round robin over the exercises (sources.sample)")
    ap.add_argument("--renderers", nargs="+", default=[DEFAULT_RENDERER], choices=sorted(RENDERERS))
    ap.add_argument("--themes", nargs="+", default=["default", "bold"],
                    help="looks of renderers that have themes (bpmn-js: default, bold)")
    ap.add_argument("--languages", nargs="+", default=["en"], choices=LANGUAGES)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--dpi", type=int, default=None,
                    help="fixed dpi of scans and pasted pictures (default: seeded per page, 100-300 and 150-300)")
    ap.add_argument("--testdata", type=Path, default=None,
                    help="shared testdata (body text of pasted pages; default ../shared/testdata)")
    args = ap.parse_args(argv)
    from bench.bpmn_corpus.sources import sample
    models = sample(sorted(args.models.glob("*.bpmn")), args.limit)
    t0 = time.time()
    counts = build(models, args.out, args.themes, args.variants, args.dpi,
                   log=lambda s: print(s, file=sys.stderr), renderers=args.renderers, languages=args.languages,
                   testdata=args.testdata)
    print(f"{len(models)} models x {args.renderers} x {args.themes} x {args.languages}: {counts} in "
          f"{time.time() - t0:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
