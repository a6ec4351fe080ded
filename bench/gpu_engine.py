"""GPU benchmark: our DeepSeek-OCR engine path against one plain ``LLM.generate`` over the same pages.

Runs on the lent GPU machine with the kit of ``shared/gpu`` (vLLM 0.26.0, DeepSeek-OCR's architecture with
dummy weights): 1024 output tokens forced per page (``ignore_eos``), n-gram filter on, synthetic A4 pages at
150 dpi made with PIL (no pymupdf needed). Every phase runs in its own process (one vLLM per GPU at a time)
and prints one JSON line; the driver writes them all to ``--out``/results.jsonl and a table at the end.

    python3 bench/gpu_engine.py --model /tmp/gpu/payload/model --out $OUT --phases vanilla,engine-gundam,engine-base
    python3 bench/gpu_engine.py ... --phases engine-gpus,engine-base --gpus 2   # two GPUs against one, in-process
    python3 bench/gpu_engine.py ... --ocr2-model /tmp/ocr2 --phases ...,engine-base,engine-base-ocr2  # OCR-2 too
    python3 bench/gpu_engine.py --cpu-check   # no GPU, no vLLM: the bench's own plumbing (pages, tokens, summary)

Fair by construction (issue 18): the baseline (``vanilla``, vLLM's stock recipe) decodes its PNGs inside its
timer, as the engine prepares its pages inside its own; both sides send the same prompt, the same
``--concurrency`` pages in flight and the same forced output (``PREFILL_TOKENS`` for the prefill-only runs,
1024 for the full ones); the baseline phase always runs first, so a run short of time keeps it; every
diagnostic file carries its phase's name. The summary line compares engine-gundam with vanilla (the same
image tokens: what the engineering gives), engine-base with engine-gundam (what the users' base mode gives)
and, with ``--ocr2-model``, DeepSeek-OCR-2 with DeepSeek-OCR through the same engine at the base view (257
against 273 image tokens: each family's own count for the same 1024 view) and the same output tokens.

On the lent machine (``shared/gpu/README.md``; ``shared/gpu/prepare.sh .gpu`` here first): three calls carrying
``.gpu/chunk-0`` .. ``chunk-2`` (``bash .gpu/chunk-K/install.sh``) back to back, then one carrying ``chunk-3``
(timeout 600)::

    bash .gpu/chunk-3/install.sh && export PYTHONPATH=/tmp/site:$PWD VLLM_USE_FLASHINFER_SAMPLER=0 \
      VLLM_NO_USAGE_STATS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 && \
      python3 bench/make_dummy_model_ocr2.py /tmp/ocr2 --from /tmp/gpu/payload/model && \
      python3 bench/gpu_engine.py --model /tmp/gpu/payload/model --ocr2-model /tmp/ocr2 --out $OUT \
        --phases vanilla,engine-gundam,engine-base,engine-base-ocr2 --pages 128 --engine-pages 128 \
        --concurrency 128 --budget-s 545; cd $OUT && tar czf diag.tgz --remove-files *.log threads-*.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("process order invoice customer approve reject gateway task event lane pool data report annual "
         "отчёт заявка клиент согласование договор проверка платёж склад доставка документ").split()
PAGES_DIR = Path("/tmp/bench_pages")
PREFILL_TOKENS = 16  # output tokens of a prefill-only run, both sides (the engine's options allow 16 at least)
FULL_TOKENS = 1024  # output tokens forced a page in a full run, both sides
BASELINE = "vanilla"


def make_page(i: int) -> bytes:
    """A synthetic 150 dpi A4 page (1240 x 1754) of text lines and a table-like grid; unique per ``i``."""
    from PIL import Image, ImageDraw, ImageFont

    rnd = random.Random(i)
    img = Image.new("RGB", (1240, 1754), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=22)
    except TypeError:
        font = ImageFont.load_default()
    d.text((100, 80), f"Page {i} — {rnd.choice(WORDS).title()} {rnd.randint(1000, 9999)}", fill="black", font=font)
    y = 150
    while y < 1600:
        if rnd.random() < 0.1:
            for r in range(4):
                for c in range(4):
                    d.rectangle((100 + c * 260, y + r * 40, 360 + c * 260, y + 40 + r * 40), outline="black")
                    d.text((110 + c * 260, y + 8 + r * 40), rnd.choice(WORDS), fill="black", font=font)
            y += 180
        else:
            d.text((100, y), " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 11))), fill="black", font=font)
            y += 34
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def ensure_pages(n: int) -> list[Path]:
    PAGES_DIR.mkdir(exist_ok=True)
    missing = [i for i in range(n) if not (PAGES_DIR / f"{i:05d}.png").exists()]
    with ProcessPoolExecutor(min(16, os.cpu_count() or 4)) as pool:
        for i, png in zip(missing, pool.map(make_page, missing)):
            (PAGES_DIR / f"{i:05d}.png").write_bytes(png)
    return [PAGES_DIR / f"{i:05d}.png" for i in range(n)]


def page_images(n: int):
    from pdf_ocr_pipeline.engines.base import PageImage

    return [PageImage("bench", i + 1, p.read_bytes(), 150.0, 595.0, 842.0) for i, p in enumerate(ensure_pages(n))]


def gpu_name() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20).stdout.strip().replace("\n", " + ")
    except Exception:
        return "?"


def timed_front_end(llm) -> list[float]:
    """Accumulate the time spent adding requests (vLLM's front end: image processing, tokenizing)."""
    acc = [0.0]
    eng = llm.llm_engine
    orig = eng.add_request

    def add_request(*a, **k):
        t = time.perf_counter()
        try:
            return orig(*a, **k)
        finally:
            acc[0] += time.perf_counter() - t

    eng.add_request = add_request
    render = getattr(llm, "_preprocess_cmpl_one", None)
    if callable(render):
        def preprocess(*a, **k):
            t = time.perf_counter()
            try:
                return render(*a, **k)
            finally:
                acc[0] += time.perf_counter() - t
        llm._preprocess_cmpl_one = preprocess
    return acc


# ---------------------------------------------------------------- phases (each in its own process)

def phase_selftest(args) -> dict:
    """Our batched n-gram filter bans exactly what vLLM's per-request one bans, on random histories."""
    import torch
    from vllm import SamplingParams
    from vllm.model_executor.models.deepseek_ocr import NoRepeatNGramLogitsProcessor
    from vllm.v1.sample.logits_processor import BatchUpdate

    from pdf_ocr_pipeline.engines.ngram_filter import BatchedNGramLogitsProcessor

    rnd = random.Random(0)
    dev = torch.device("cuda")
    proc = BatchedNGramLogitsProcessor(None, dev, False)
    B, V, mismatches, banned_total = 64, 512, 0, 0
    outs = [[] for _ in range(B)]
    params = [SamplingParams(extra_args={"ngram_size": rnd.choice([3, 5, 30]), "window_size": rnd.choice([20, 90]),
                                         "whitelist_token_ids": [7, 8]}) for _ in range(B)]
    proc.update_state(BatchUpdate(B, [], [(i, params[i], None, outs[i]) for i in range(B)], []))
    for step in range(300):
        for i, o in enumerate(outs):  # loops: repeat an earlier stretch often, so n-grams do repeat
            o.append(o[-rnd.randint(1, min(12, len(o)))] if o and rnd.random() < 0.7 else rnd.randrange(16))
        logits = torch.zeros(B, V, device=dev)
        got = proc.apply(logits.clone()).isinf().cpu()
        for i in range(B):
            ex = params[i].extra_args
            ref = NoRepeatNGramLogitsProcessor(ex["ngram_size"], ex["window_size"], set(ex["whitelist_token_ids"]))
            want = ref(list(outs[i]), torch.zeros(V)).isinf()
            mismatches += int((want != got[i]).any())
            banned_total += int(want.sum())
    return {"phase": "selftest", "ok": mismatches == 0, "mismatched_rows": mismatches, "banned": banned_total}


def phase_selftest_sampler(args) -> dict:
    """The Triton ban of Model Runner V2's sampler bans exactly what vLLM's per-request filter bans, on random
    looping histories, with prompts of different lengths and logits rows mapped to shuffled request slots."""
    import types

    import torch
    from vllm.model_executor.models.deepseek_ocr import NoRepeatNGramLogitsProcessor

    from pdf_ocr_pipeline.engines.ngram_sampler import NGramBanState, apply_ngram_ban

    rnd = random.Random(1)
    dev = torch.device("cuda")
    B, V, width, mismatches, banned_total = 48, 512, 1024, 0, 0
    state = NGramBanState(types.SimpleNamespace(max_num_reqs=B))
    params = []
    for i in range(B):  # every 8th request without extra_args: the ban must leave it alone
        extra = None if i % 8 == 7 else {"ngram_size": rnd.choice([2, 3, 5, 30]),
                                          "window_size": rnd.choice([20, 90, 300]),
                                          "whitelist_token_ids": rnd.sample(range(16), rnd.choice([0, 2, 5]))}
        params.append(extra)
        state.add_request(i, types.SimpleNamespace(extra_args=extra))
    state.apply_staged_writes()
    prompt_len = [rnd.randint(1, 300) for _ in range(B)]
    outs = [[] for _ in range(B)]
    slots = list(range(B))
    for step in range(400):
        for o in outs:
            o.append(o[-rnd.randint(1, min(12, len(o)))] if o and rnd.random() < 0.7 else rnd.randrange(16))
        if step % 7:
            continue
        rnd.shuffle(slots)  # logits row r samples for request slots[r]
        tokens = torch.zeros(B, width, dtype=torch.int32)
        for i in range(B):
            tokens[i, :prompt_len[i]] = 100 + i
            tokens[i, prompt_len[i]:prompt_len[i] + len(outs[i])] = torch.tensor(outs[i], dtype=torch.int32)
        logits = torch.zeros(B, V, device=dev)
        mapping = torch.tensor(slots, dtype=torch.int32, device=dev)
        apply_ngram_ban(logits, mapping, state.ngram_size.gpu, state.window_size.gpu, state.num_whitelist.gpu,
                        state.whitelist.gpu, tokens.to(dev),
                        torch.tensor(prompt_len, dtype=torch.int32, device=dev),
                        torch.tensor([p + len(o) for p, o in zip(prompt_len, outs)], dtype=torch.int32, device=dev),
                        torch.tensor([o[-1] for o in outs], dtype=torch.int32, device=dev),
                        torch.zeros(B, dtype=torch.int32, device=dev))
        got = logits.isinf().cpu()
        for r, i in enumerate(slots):
            ex = params[i]
            want = torch.zeros(V, dtype=torch.bool) if ex is None else NoRepeatNGramLogitsProcessor(
                ex["ngram_size"], ex["window_size"], set(ex["whitelist_token_ids"]))(list(outs[i]),
                                                                                   torch.zeros(V)).isinf()
            mismatches += int((want != got[r]).any())
            banned_total += int(want.sum())
    return {"phase": "selftest-sampler", "ok": mismatches == 0, "mismatched_rows": mismatches,
            "banned": banned_total}


def phase_ban_end_to_end(args) -> dict:
    """Model Runner V2 with our sampler ban, greedy on the dummy model (which loops at once): no output repeats
    a banned n-gram; the same run without the ban does (the check has teeth)."""
    from PIL import Image
    from vllm import LLM, SamplingParams

    from pdf_ocr_pipeline.engines.deepseek_vllm import ngram_env

    os.environ.update(ngram_env("sampler"))
    from pdf_ocr_pipeline.engines.vllm_plugin import register

    register()
    llm = LLM(model=args.model, load_format="dummy", enable_prefix_caching=False, mm_processor_cache_gb=0,
              max_model_len=4096, max_num_seqs=64, gpu_memory_utilization=0.5, limit_mm_per_prompt={"image": 1})
    n, window = 4, 64
    from pdf_ocr_pipeline.engines.prompts import IMAGE_TOKEN

    prompts = [{"prompt": f"{IMAGE_TOKEN}\nPage {i}: convert to markdown.",
                "multi_modal_data": {"image": Image.open(p).convert("RGB")}}
               for i, p in enumerate(ensure_pages(16))]

    def repeats(ids):
        return sum(tuple(ids[j:j + n]) in {tuple(ids[k:k + n]) for k in range(max(0, j - window + n), j)}
                   for j in range(1, len(ids) - n + 1))

    res = {"phase": "ban-end-to-end"}
    for label, extra in (("ban", {"ngram_size": n, "window_size": window}), ("no_ban", None)):
        sp = SamplingParams(temperature=0.0, max_tokens=200, ignore_eos=True, extra_args=extra)
        outs = llm.generate(prompts, sp, use_tqdm=False)
        res[label] = sum(repeats(list(o.outputs[0].token_ids)) for o in outs)
    res["ok"] = res["ban"] == 0 and res["no_ban"] > 0
    return res


def _vanilla_llm(args, max_num_seqs):
    from vllm import LLM

    return LLM(model=args.model, load_format="dummy", enable_prefix_caching=False, mm_processor_cache_gb=0,
               logits_processors=["vllm.model_executor.models.deepseek_ocr:NGramPerReqLogitsProcessor"],
               max_model_len=8192, max_num_seqs=max_num_seqs, gpu_memory_utilization=0.9,
               limit_mm_per_prompt={"image": 1})


def vanilla_prompt() -> str:
    """The prompt both sides send: the engine's (DeepSeek-OCR family, ``ocr_v1``), which is vLLM's recipe's."""
    from pdf_ocr_pipeline.engines.families import DEEPSEEK_OCR
    from pdf_ocr_pipeline.engines.prompts import get_prompt

    return DEEPSEEK_OCR.prompt(get_prompt("ocr_v1").text)


def phase_vanilla(args) -> dict:
    """The baseline: vLLM's stock DeepSeek-OCR recipe (Gundam tiling, its per-request n-gram filter), every page
    in one ``LLM.generate``. Like the engine, it starts from the pages' PNG bytes in memory and decodes them
    inside its timer (``decode_s`` says how long that took); the same ``--concurrency`` pages in flight, the same
    prompt and the same forced output tokens as the engine's runs."""
    from PIL import Image
    from vllm import SamplingParams

    t0 = time.perf_counter()
    llm = _vanilla_llm(args, args.concurrency)
    load_s = time.perf_counter() - t0
    pngs = [p.read_bytes() for p in ensure_pages(args.pages)]
    prompt = vanilla_prompt()
    extra = {"ngram_size": 30, "window_size": 90, "whitelist_token_ids": [128821, 128822]}

    def sp(n):
        return SamplingParams(temperature=0.0, max_tokens=n, ignore_eos=True, skip_special_tokens=False,
                              extra_args=extra)

    def requests(blobs) -> tuple[list[dict], float]:
        t = time.perf_counter()
        reqs = [{"prompt": prompt, "multi_modal_data": {"image": Image.open(io.BytesIO(b)).convert("RGB")}}
                for b in blobs]
        return reqs, time.perf_counter() - t

    llm.generate(requests(pngs[:16])[0], sp(16), use_tqdm=False)
    res = {"phase": "vanilla", "load_s": round(load_s, 1), "pages": len(pngs), "concurrency": args.concurrency,
           "prompt": prompt}
    for label, n in (("prefill", PREFILL_TOKENS), ("full", FULL_TOKENS)):
        fe = timed_front_end(llm)
        t = time.perf_counter()
        reqs, decode_s = requests(pngs)  # inside the timer, as the engine's page preparation is
        outs = llm.generate(reqs, sp(n), use_tqdm=False)
        wall = time.perf_counter() - t
        res[label] = {"pages": len(outs), "wall_s": round(wall, 2), "pages_per_s": round(len(outs) / wall, 2),
                      "decode_s": round(decode_s, 2), "front_end_s": round(fe[0], 2),
                      "tokens_out": sum(len(o.outputs[0].token_ids) for o in outs),
                      "prompt_tokens": len(outs[0].prompt_token_ids)}
        res[label]["tokens_out_per_s"] = round(res[label]["tokens_out"] / wall)
        print("RESULT " + json.dumps(res), flush=True)  # a phase that runs out of time keeps what it has
    return res


def encoder_check(model) -> dict:
    """Runs inside vLLM's worker (``LLM.apply_model``): the batched vision encoder (ours, DeepSeek-OCR or -2)
    against vLLM's per-page loop on the same random views: largest difference and GPU time per page of each."""
    import torch

    batched = type(model)._pixel_values_to_embedding
    loop = getattr(batched, "per_page_loop", None)
    if loop is None:
        return {"batched_encoder": False}
    param = next(model.parameters())
    out = {"batched_encoder": True}
    torch.manual_seed(0)
    for b in (8, 32):
        views = torch.randn(b, 3, 1024, 1024, device=param.device, dtype=param.dtype).clamp(-1, 1)
        crops = torch.zeros(0, 3, 640, 640, device=param.device, dtype=param.dtype)
        crop_grid = torch.ones(b, 2, dtype=torch.long, device=param.device)
        timings = {}
        with torch.inference_mode():
            for name, fn in (("loop", lambda: loop(model, views, crops, crop_grid)),
                             ("batched", lambda: batched(model, views, crops, crop_grid))):
                fn()
                torch.cuda.synchronize()
                t = time.perf_counter()
                result = fn()
                torch.cuda.synchronize()
                timings[name] = (result, (time.perf_counter() - t) / b * 1000)
        ref, new = timings["loop"][0], timings["batched"][0]
        out[f"pages{b}"] = {
            "shapes_equal": all(a.shape == c.shape for a, c in zip(ref, new)) and len(ref) == len(new),
            "max_abs_diff": max((a.float() - c.float()).abs().max().item() for a, c in zip(ref, new)),
            "max_abs": max(a.float().abs().max().item() for a in ref),
            "loop_ms_per_page": round(timings["loop"][1], 2), "batched_ms_per_page": round(timings["batched"][1], 2)}
    return out


def _in_process_options(args, resolution: str, max_tokens: int, gpus: int = 1, model: str | None = None):
    """Our in-process engine's options for the benchmark: dummy weights, 1,024 tokens forced, no retries; the
    model family from the model folder's config (``model``: another folder than ``--model``)."""
    from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmOptions

    return DeepSeekVllmOptions(model=model or args.model, transport="in-process", resolution=resolution,
                               load_format="dummy", ignore_eos=True, max_retries=0, fallback="none",
                               concurrency=args.concurrency,
                               max_num_seqs=args.concurrency, prep_workers=args.prep_workers,
                               ngram_impl=args.ngram_impl, gpu_memory_utilization=0.9, max_tokens=max_tokens,
                               gpus=gpus, render_threads=args.render_threads, engine_threads=args.engine_threads)


def set_torch_threads(worker, n: int) -> list[int]:
    """Runs in vLLM's engine core (``LLM.collective_rpc``, its main thread): torch's CPU threads there, before
    and after (``n`` = 0 changes nothing). Set after start-up: ``OMP_NUM_THREADS`` in the environment stalled
    the engine cores at start (s5-12, s5-16)."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    return [before, torch.get_num_threads()]


FRONT_END_DIR = Path("/tmp/bench_front_end")
CONTROL = FRONT_END_DIR / "control.json"


def _controlled(llm, state: dict) -> None:
    """Engine process side of the bench's control file: at an engine step (the engine process's main thread),
    when ``CONTROL`` changed: torch's threads in the engine core, and cProfile of this thread on or off (the
    profile is written to ``FRONT_END_DIR/prof-gpu<N>.txt`` when it goes off)."""
    import cProfile
    import pstats

    eng = llm.llm_engine
    orig = eng.step
    seen = {"seq": None, "checked": 0.0, "prof": None}

    def step(*a, **k):
        now = time.monotonic()
        if now - seen["checked"] > 0.5:
            seen["checked"] = now
            try:
                ctl = json.loads(CONTROL.read_text())
            except (OSError, ValueError):
                ctl = {}
            if ctl.get("seq") != seen["seq"]:
                seen["seq"] = ctl.get("seq")
                if "core_threads" in ctl:  # 0: only read them
                    try:
                        state["core_threads"] = llm.collective_rpc(set_torch_threads, timeout=60,
                                                                   args=(ctl["core_threads"],))[0]
                    except Exception as e:  # a diagnostic: the run goes on, the figure says what happened
                        state["core_threads"] = f"{type(e).__name__}: {e}"[:200]
                if ctl.get("profile") and seen["prof"] is None:
                    seen["prof"] = cProfile.Profile()
                    seen["prof"].enable()
                elif not ctl.get("profile") and seen["prof"] is not None:
                    seen["prof"].disable()
                    text = io.StringIO()
                    st = pstats.Stats(seen["prof"], stream=text)
                    st.sort_stats("tottime").print_stats(45)
                    st.sort_stats("cumulative").print_stats(45)
                    gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
                    (FRONT_END_DIR / f"prof-gpu{gpu}.txt").write_text(text.getvalue())
                    seen["prof"] = None
        return orig(*a, **k)

    eng.step = step


def _timed_llm(options):
    """The engine's ``vllm.LLM``, built in a GPU's engine process, with its front-end seconds (and torch's CPU
    threads, here and in the engine core) written to ``FRONT_END_DIR/<pid>.json`` every half second for the
    bench to read, and the bench's ``CONTROL`` file obeyed (``_controlled``)."""
    import threading

    import torch

    from pdf_ocr_pipeline.engines.deepseek_vllm import build_llm

    llm = build_llm(options)
    acc = timed_front_end(llm)
    state = {"core_threads": None}
    _controlled(llm, state)
    path = FRONT_END_DIR / f"{os.getpid()}.json"

    def write() -> None:
        while True:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "front_end_s": acc[0],
                                       "torch_threads": torch.get_num_threads(),
                                       "core_threads": state["core_threads"]}))
            tmp.replace(path)  # whole files only: the bench reads them meanwhile
            time.sleep(0.5)

    threading.Thread(target=write, daemon=True).start()
    return llm


def _front_ends() -> dict[str, dict]:
    return {d["gpu"]: d for d in (json.loads(p.read_text()) for p in FRONT_END_DIR.glob("[0-9]*.json"))}


def _thread_ticks() -> dict[tuple[int, int], int]:
    """CPU ticks (user + system) of every thread of every process on the host, by (pid, tid)."""
    ticks = {}
    for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[(int(stat.parts[2]), int(stat.parts[4]))] = int(fields[11]) + int(fields[12])
    return ticks


def _thread_cpu(before: dict, after: dict, seconds: float) -> list[dict]:
    """Per process: CPU % over ``seconds``, threads above 10% and the busiest threads' %, busiest first."""
    hz = os.sysconf("SC_CLK_TCK")
    per: dict[int, list[float]] = {}
    for key, t in after.items():
        per.setdefault(key[0], []).append(100.0 * (t - before.get(key, t)) / hz / seconds)
    rows = []
    for pid, pcts in per.items():
        if sum(pcts) < 5:
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:90]
        except OSError:
            cmd = "?"
        pcts.sort(reverse=True)
        rows.append({"pid": pid, "cpu_pct": round(sum(pcts)), "threads": len(pcts),
                     "busy_threads": sum(x > 10 for x in pcts), "top": [round(x) for x in pcts[:6]], "cmd": cmd})
    return sorted(rows, key=lambda r: -r["cpu_pct"])


def _sample_threads(out_dir: Path, label: str, delay: float, seconds: float):
    """In a thread: per-thread CPU of every process from ``delay`` to ``delay + seconds`` into a run; the
    summary goes to ``threads-<label>.json`` and the returned dict."""
    import threading

    found: dict = {}

    def sample() -> None:
        time.sleep(delay)
        before = _thread_ticks()
        time.sleep(seconds)
        found["processes"] = _thread_cpu(before, _thread_ticks(), seconds)[:14]
        (out_dir / f"threads-{label}.json").write_text(json.dumps(found["processes"], indent=1))

    threading.Thread(target=sample, daemon=True).start()
    return found


def phase_engine_gpus(args) -> dict:
    """Our engine in-process on ``--gpus`` GPUs: one vLLM engine process per GPU (the ``gpus`` option), pages
    spread over them by fewest outstanding; ``--engine-pages`` pages a GPU, timed after a warm-up, once per
    engine-core torch thread count of ``--core-threads`` (0: as vLLM leaves it), then with ``--profile-pages``
    a GPU under cProfile (the engine processes' main threads). Each GPU process's front-end seconds are
    reported, and every process's per-thread CPU during the first timed run (``threads-*.json``)."""
    from functools import partial

    from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine

    os.environ.setdefault("VLLM_ALLOW_INSECURE_SERIALIZATION", "1")  # set_torch_threads travels to the engine core
    FRONT_END_DIR.mkdir(exist_ok=True)
    for old in FRONT_END_DIR.glob("*"):
        old.unlink()
    opts = _in_process_options(args, args.resolution, 1024, gpus=args.gpus)
    t0 = time.perf_counter()
    engine = DeepSeekVllmEngine(opts, llm_builder=partial(_timed_llm, opts))
    res = {"phase": f"engine-{args.resolution}-{args.gpus}gpu", "load_s": round(time.perf_counter() - t0, 1),
           "gpus": args.gpus, "concurrency_per_gpu": args.concurrency, "render_threads": args.render_threads,
           "engine_threads": args.engine_threads,
           "prep_workers": args.prep_workers}
    pages = page_images(args.engine_pages * args.gpus)
    warm = pages[:16 * args.gpus]
    out_dir = Path(args.out)
    runs = [(f"core{n}", {"core_threads": n}, pages) for n in (int(x) for x in args.core_threads.split(","))]
    if args.profile_pages:
        runs.append(("profile", {"profile": True}, pages[:args.profile_pages * args.gpus]))
    try:
        for seq, (label, control, run_pages) in enumerate(runs):
            CONTROL.write_text(json.dumps({"seq": seq, **control}))
            list(engine.ocr_pages(warm))  # the engine processes see the control file at their next steps
            threads = _sample_threads(out_dir, f"{res['phase']}-{label}", 4.0, 10.0) if seq == 0 else {}
            before = _front_ends()
            t = time.perf_counter()
            out = list(engine.ocr_pages(run_pages))
            wall = time.perf_counter() - t
            time.sleep(1.0)
            after = _front_ends()
            m = engine.run_metrics()
            res[label] = _run_figures(out, wall, m) | {
                "prep_s_workers": m["prep_s"],
                "front_end_s": {g: round(a["front_end_s"] - before.get(g, {}).get("front_end_s", 0.0), 2)
                                for g, a in after.items()},
                "core_threads": {g: a["core_threads"] for g, a in after.items()},
                "gpu_memory_used_mb": m["gpu_memory_used_mb"]}
            if threads.get("processes"):
                res[label]["threads"] = threads["processes"][:8]
            print("RESULT " + json.dumps(res), flush=True)  # a phase that runs out of time keeps what it has
        if args.profile_pages:
            CONTROL.write_text(json.dumps({"seq": len(runs), "profile": False}))
            list(engine.ocr_pages(warm))  # the processes write their profiles
            for prof in FRONT_END_DIR.glob("prof-*.txt"):
                (out_dir / f"{res['phase']}-{prof.name}").write_text(prof.read_text())
    finally:
        engine.close()
    return res


def phase_engine(args, resolution: str, family: str = "") -> dict:
    """Our engine path: in-process transport, pages prepared in worker processes, batched n-gram filter.
    ``family`` ``ocr2``: the model folder ``--ocr2-model`` (DeepSeek-OCR-2), same pages, same forced tokens."""
    from pdf_ocr_pipeline.engines.batched_encoder import BATCHED_ENCODER_ENV
    from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine

    phase = f"engine-{resolution}" + (f"-{family}" if family else "")
    if family and family != "ocr2":
        raise SystemExit(f"unknown family in phase {phase}: engine-<resolution>[-ocr2]")
    model = None
    if family == "ocr2":
        if not args.ocr2_model:
            raise SystemExit(f"{phase} needs --ocr2-model (bench/make_dummy_model_ocr2.py makes one)")
        model = args.ocr2_model
    os.environ.setdefault("VLLM_ALLOW_INSECURE_SERIALIZATION", "1")  # encoder_check travels to the worker
    if family == "ocr2":  # batched as DeepSeek-OCR's is (off in the plugin until encoder_check below passes)
        from pdf_ocr_pipeline.engines.vllm_plugin import BATCHED_ENCODER_OCR2_ENV

        os.environ.setdefault(BATCHED_ENCODER_OCR2_ENV, "1")
    t0 = time.perf_counter()
    engine = DeepSeekVllmEngine(_in_process_options(args, resolution, FULL_TOKENS, model=model))
    load_s = time.perf_counter() - t0
    pages = page_images(max(args.pages, args.engine_pages))
    fe = timed_front_end(engine.transport.llm)
    core_threads = engine.transport.llm.collective_rpc(set_torch_threads, args=(int(args.core_threads),))[0]
    list(engine.ocr_pages(pages[:16]))
    res = {"phase": phase, "model_family": engine.family.name, "load_s": round(load_s, 1),
           "ngram_impl": args.ngram_impl, "ngram_size": engine.ngram_size, "pages_in_run": args.pages,
           "concurrency": args.concurrency, "batched_encoder": os.environ.get(BATCHED_ENCODER_ENV, "1"),
           "batched_encoder_ocr2": os.environ.get("PDF_OCR_BATCHED_ENCODER_OCR2", "0"),
           "render_threads": args.render_threads, "engine_threads": args.engine_threads, "core_threads": core_threads}
    try:
        res["encoder_check"] = engine.transport.llm.apply_model(encoder_check)[0]
    except Exception as e:  # the check is a diagnostic: never lose the throughput figures to it
        res["encoder_check"] = {"error": repr(e)[:300]}
    prefill = DeepSeekVllmEngine(_in_process_options(args, resolution, PREFILL_TOKENS, model=model),
                                 llm=engine.transport.llm)
    runs = [("prefill", prefill, args.pages), ("full", engine, args.pages)]
    if args.engine_pages > args.pages:
        runs.append((f"full{args.engine_pages}", engine, args.engine_pages))
    for label, eng, n in runs:
        fe[0] = 0.0
        threads = _sample_threads(Path(args.out), f"{phase}-{label}", 4.0, 10.0) if label == runs[-1][0] else {}
        t = time.perf_counter()
        out = list(eng.ocr_pages(pages[:n]))
        wall = time.perf_counter() - t
        m = eng.run_metrics()
        res[label] = _run_figures(out, wall, m) | {
            "front_end_s": round(fe[0], 2), "prep_s_workers": m["prep_s"], "tokens_out": m["tokens_out"],
            "gpu_memory_used_mb": m["gpu_memory_used_mb"]}
        if threads.get("processes"):
            res[label]["threads"] = threads["processes"][:8]
        print("RESULT " + json.dumps(res), flush=True)  # a phase that runs out of time keeps what it has
    return res


def phase_profile(args) -> dict:
    """Our in-process engine under vLLM's torch profiler for its first ``--profile-steps`` engine steps of a
    ``--pages`` run (encoder + prefill steps, then pure decode), summarised by ``trace_summary.py``."""
    from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine, build_llm

    from bench import trace_summary

    trace_dir = Path(args.out).resolve() / f"trace-profile-{args.resolution}"
    opts = _in_process_options(args, args.resolution, 1024)
    llm = build_llm(opts, profiler_config={"profiler": "torch", "torch_profiler_dir": str(trace_dir),
                                           "torch_profiler_with_stack": False,
                                           "delay_iterations": args.profile_delay,
                                           "max_iterations": args.profile_steps})
    engine = DeepSeekVllmEngine(opts, llm=llm)
    pages = page_images(args.pages)
    list(engine.ocr_pages(pages[:16]))
    llm.start_profile()
    t = time.perf_counter()
    list(engine.ocr_pages(pages))
    wall = time.perf_counter() - t
    llm.stop_profile()
    for _ in range(120):  # the worker writes its trace after the last profiled step
        if traces := sorted(str(p) for p in trace_dir.rglob("*.json*")):
            break
        time.sleep(1)
    time.sleep(3)
    return {"phase": "profile", "pages": len(pages), "wall_s": round(wall, 2),
            "pages_per_s": round(len(pages) / wall, 2), "profile_delay": args.profile_delay,
            "profile_steps": args.profile_steps, "summary": [trace_summary.summarize(p) for p in traces]}


def _install_plugin_entry_point() -> None:
    """On the GPU box the package is on PYTHONPATH, not installed: declare our vLLM plugin by hand."""
    site = next((p for p in sys.path if p.rstrip("/").endswith("/tmp/site")), None) or "/tmp/site"
    d = Path(site) / "pdf_ocr_vllm_plugin-0.0.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text("Metadata-Version: 2.1\nName: pdf-ocr-vllm-plugin\nVersion: 0.0\n")
    (d / "entry_points.txt").write_text(
        "[vllm.general_plugins]\npdf_ocr_deepseek = pdf_ocr_pipeline.engines.vllm_plugin:register\n")


def phase_server(args) -> dict:
    """``pdf-ocr serve``'s command on each GPU, our server transport spreading pages over them."""
    import httpx

    from pdf_ocr_pipeline.engines.vllm_server import ServeOptions, serve_command, serve_env

    _install_plugin_entry_point()
    gpus, k = args.gpus, args.servers_per_gpu
    procs, urls = [], []
    log_dir = Path(args.out)
    t0 = time.perf_counter()
    res = {"phase": f"server-{args.resolution}-{gpus}gpu-{k}per", "api_servers": args.api_servers}

    def wait_ready(u):
        while True:
            try:
                if httpx.get(f"{u}/v1/models", timeout=2).status_code == 200:
                    return
            except Exception:
                pass
            if time.perf_counter() - t0 > args.server_wait_s or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"server {u} did not start")
            time.sleep(1)

    def start(so: ServeOptions, gpus_env: str, log_name: str | None) -> str:
        log = open(log_dir / log_name, "w") if log_name else subprocess.DEVNULL
        procs.append(subprocess.Popen(serve_command(so), env=serve_env(so) | {"CUDA_VISIBLE_DEVICES": gpus_env},
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        return f"http://127.0.0.1:{so.port}"

    try:
        if args.data_parallel > 1:  # one server, vLLM's own data parallelism over the GPUs
            dp = args.data_parallel
            res["phase"] = f"server-{args.resolution}-dp{dp}"
            so = ServeOptions(model=args.model, served_model_name="deepseek-ocr", port=8100, load_format="dummy",
                              resolution=args.resolution, max_num_seqs=args.concurrency,
                              gpu_memory_utilization=0.895, api_server_count=args.api_servers,
                              ngram_impl=args.ngram_impl, extra_args=("--data-parallel-size", str(dp)))
            url = start(so, ",".join(map(str, range(dp))), f"{res['phase']}.server.log")
            wait_ready(url)
            runs = [(f"dp{dp}", [url], args.engine_pages * dp, args.concurrency * dp, 8 * dp)]
        else:
            # servers sharing a GPU start one after another (each sizes its KV cache from the free memory)
            for j in range(k):
                started = [start(ServeOptions(model=args.model, served_model_name="deepseek-ocr",
                                              port=8100 + g * 10 + j, load_format="dummy",
                                              resolution=args.resolution, max_num_seqs=max(64, args.concurrency // k),
                                              gpu_memory_utilization=round(0.9 / k - 0.005, 3),
                                              api_server_count=args.api_servers, ngram_impl=args.ngram_impl),
                                 str(g), f"{res['phase']}.server{g}-{j}.log" if j == 0 else None)
                           for g in range(gpus)]
                for u in started:
                    wait_ready(u)
                urls += started
            first_gpu = [u for u in urls if u.startswith("http://127.0.0.1:810")]
            per_server = max(64, args.concurrency // k)
            runs = [(f"{len(first_gpu)}servers", first_gpu, args.engine_pages, per_server, 8)]
            if gpus > 1:
                runs.append((f"{len(urls)}servers", urls, args.engine_pages * gpus, per_server, 8))
        res["load_s"] = round(time.perf_counter() - t0, 1)
        pages = page_images(max(n for _, _, n, _, _ in runs))
        for label, use, n, concurrency, warm in runs:
            res[label] = _timed_server_run(args, use, pages[:n], concurrency, warm)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, 15)
            except Exception:
                pass
        for p in procs:
            try:
                p.wait(timeout=30)
            except Exception:
                os.killpg(p.pid, 9)
    return res


def _timed_server_run(args, urls: list[str], pages: list, concurrency: int, warm: int) -> dict:
    """Our server transport over ``urls``: ``warm`` pages to start with, then ``pages`` timed."""
    from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmEngine, DeepSeekVllmOptions

    opts = DeepSeekVllmOptions(model=args.model, served_model_name="deepseek-ocr", transport="server",
                               server_urls=tuple(urls), resolution=args.resolution, ignore_eos=True,
                               max_tokens=1024, max_retries=0, fallback="none", concurrency=concurrency,
                               prep_workers=args.prep_workers)
    eng = DeepSeekVllmEngine(opts)
    try:
        list(eng.ocr_pages(pages[:warm]))
        t = time.perf_counter()
        out = list(eng.ocr_pages(pages))
        wall = time.perf_counter() - t
        m = eng.run_metrics()
    finally:
        eng.close()
    return _run_figures(out, wall, m)


def _run_figures(out: list, wall: float, m: dict) -> dict:
    """A timed engine run's figures: ``out`` its pages, ``wall`` its seconds, ``m`` the engine's run metrics."""
    n = len(out)
    return {"pages": n, "wall_s": round(wall, 2), "pages_per_s": round(n / wall, 2),
            "first_page_s": m["first_page_s"], "tokens_out_per_s": round(m["tokens_out"] / wall),
            "prompt_tokens": out[0].tokens_in, "errors": sum(p.error is not None for p in out),
            "first_error": next((p.error for p in out if p.error), None)}


def run_phase(args) -> dict:
    if args.phase == "selftest":
        return phase_selftest(args)
    if args.phase == "selftest-sampler":
        return phase_selftest_sampler(args)
    if args.phase == "ban-end-to-end":
        return phase_ban_end_to_end(args)
    if args.phase == "vanilla":
        return phase_vanilla(args)
    if args.phase == "engine-gpus":
        return phase_engine_gpus(args)
    if args.phase.startswith("engine-"):
        resolution, _, family = args.phase.split("-", 1)[1].partition("-")
        return phase_engine(args, resolution, family)
    if args.phase == "server":
        return phase_server(args)
    if args.phase == "profile":
        return phase_profile(args)
    raise SystemExit(f"unknown phase {args.phase}")


def _kill_session(sid: int) -> None:
    """Every process of a session (the engine processes make process groups of their own inside it)."""
    subprocess.run(["pkill", "-9", "-s", str(sid)], check=False)


def order_phases(phases: str) -> list[str]:
    """The phases asked for, the baseline first (a run short of time keeps it), each once, order otherwise kept."""
    names = [p.strip() for p in phases.split(",") if p.strip()]
    names = list(dict.fromkeys(names))
    return ([BASELINE] if BASELINE in names else []) + [p for p in names if p != BASELINE]


def _ratio(a: dict | None, b: dict | None, run: str) -> dict | None:
    """``a`` against ``b`` (two phases' results) for one run (``prefill``/``full``): pages/s of each, the ratio,
    and whether both sent the same prompt tokens and forced the same output tokens a page."""
    ra, rb = (a or {}).get(run), (b or {}).get(run)
    if not isinstance(ra, dict) or not isinstance(rb, dict) or not rb.get("pages_per_s"):
        return None
    out = {"pages_per_s": [ra["pages_per_s"], rb["pages_per_s"]],
           "ratio": round(ra["pages_per_s"] / rb["pages_per_s"], 3),
           "prompt_tokens": [ra.get("prompt_tokens"), rb.get("prompt_tokens")],
           "pages": [ra.get("pages"), rb.get("pages")]}
    tpp = [round(r["tokens_out"] / r["pages"]) if r.get("tokens_out") is not None and r.get("pages") else None
           for r in (ra, rb)]
    out["tokens_out_per_page"] = tpp
    out["same_prompt_tokens"] = out["prompt_tokens"][0] == out["prompt_tokens"][1]
    return out


def summarize(results: dict[str, dict]) -> dict:
    """The comparisons issue 18 asks for, from the phases' results by name: engine-gundam / vanilla (same image
    tokens: what the engineering gives), engine-base / engine-gundam (what the users' base mode gives),
    engine-base / vanilla, and DeepSeek-OCR-2 / DeepSeek-OCR through the engine at the base view."""
    pairs = {"engine_gundam_vs_vanilla": ("engine-gundam", "vanilla"),
             "engine_base_vs_engine_gundam": ("engine-base", "engine-gundam"),
             "engine_base_vs_vanilla": ("engine-base", "vanilla"),
             "ocr2_base_vs_ocr_base": ("engine-base-ocr2", "engine-base"),
             "ocr2_gundam_vs_ocr_gundam": ("engine-gundam-ocr2", "engine-gundam")}
    out = {"phase": "summary"}
    for key, (a, b) in pairs.items():
        runs = {run: r for run in ("prefill", "full") if (r := _ratio(results.get(a), results.get(b), run))}
        if runs:
            out[key] = {"phases": [a, b], **runs}
    if (full := out.get("ocr2_base_vs_ocr_base", {}).get("full")) is not None:
        out["ocr2_within_10pct"] = full["ratio"] >= 0.9
    return out


def cpu_check(out: Path | None) -> dict:
    """What the bench can check without a GPU or vLLM: pages, the two families' image tokens on them, the
    OCR-2 dummy folder's family, the phase order and the summary's arithmetic. Raises AssertionError."""
    import tempfile

    from pdf_ocr_pipeline.engines.families import DEEPSEEK_OCR, DEEPSEEK_OCR_2, detect_family
    from pdf_ocr_pipeline.engines.image_prep import prepare, tile_grid

    from bench.make_dummy_model_ocr2 import config as ocr2_config

    pages = ensure_pages(2)
    got = {}
    for fam in (DEEPSEEK_OCR, DEEPSEEK_OCR_2):
        img = prepare(pages[0].read_bytes(), "gundam", "raw", tile=fam.tile_size)
        w, h = img.to_pil().size
        got[fam.name] = {"base": fam.image_tokens("base"),
                         "gundam": fam.image_tokens("gundam", tile_grid(w, h, fam.tile_size)),
                         "gundam_size": [w, h]}
    assert got["deepseek-ocr"]["base"] == 273 and got["deepseek-ocr-2"]["base"] == 257, got
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "config.json").write_text(json.dumps(ocr2_config()))
        assert detect_family(d) is DEEPSEEK_OCR_2
    assert order_phases("engine-base,vanilla,engine-gundam,vanilla") == ["vanilla", "engine-base", "engine-gundam"]
    fake = {"vanilla": {"full": {"pages": 4, "pages_per_s": 2.0, "prompt_tokens": 912, "tokens_out": 4096}},
            "engine-gundam": {"full": {"pages": 4, "pages_per_s": 3.0, "prompt_tokens": 912, "tokens_out": 4096}},
            "engine-base": {"full": {"pages": 4, "pages_per_s": 6.0, "prompt_tokens": 282, "tokens_out": 4096}},
            "engine-base-ocr2": {"full": {"pages": 4, "pages_per_s": 5.7, "prompt_tokens": 266,
                                          "tokens_out": 4096}}}
    summ = summarize(fake)
    assert summ["engine_gundam_vs_vanilla"]["full"]["ratio"] == 1.5
    assert summ["engine_gundam_vs_vanilla"]["full"]["same_prompt_tokens"]
    assert summ["engine_base_vs_engine_gundam"]["full"]["ratio"] == 2.0
    assert summ["ocr2_base_vs_ocr_base"]["full"]["ratio"] == 0.95 and summ["ocr2_within_10pct"]
    res = {"phase": "cpu-check", "ok": True, "image_tokens": got, "prompt": vanilla_prompt()}
    if out is not None:
        (out / "cpu-check.json").write_text(json.dumps(res, indent=1))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="the DeepSeek-OCR model folder (required unless --cpu-check)")
    ap.add_argument("--ocr2-model", help="a DeepSeek-OCR-2 model folder, for the engine-<res>-ocr2 phases")
    ap.add_argument("--cpu-check", action="store_true", help="no GPU: check the bench's own plumbing, then exit")
    ap.add_argument("--out", default=".")
    ap.add_argument("--phases", default="vanilla,engine-gundam,engine-base",
                    help="comma separated; the baseline (vanilla) always runs first")
    ap.add_argument("--phase")
    ap.add_argument("--pages", type=int, default=256)
    ap.add_argument("--engine-pages", type=int, default=512)
    ap.add_argument("--concurrency", type=int, default=512, help="pages in flight, engine and baseline alike")
    ap.add_argument("--prep-workers", type=int, default=8)
    ap.add_argument("--ngram-impl", default="sampler")
    ap.add_argument("--resolution", default="base")
    ap.add_argument("--gpus", type=int, default=1)
    ap.add_argument("--api-servers", type=int, default=4)
    ap.add_argument("--servers-per-gpu", type=int, default=1)
    ap.add_argument("--data-parallel", type=int, default=1, help="server phase: one server, vLLM's DP over N GPUs")
    ap.add_argument("--render-threads", type=int, default=2, help="in-process: threads running vLLM's processor")
    ap.add_argument("--engine-threads", type=int, default=4, help="in-process: the engine option engine_threads")
    ap.add_argument("--core-threads", default="0", help="engine-gpus: torch threads of the engine cores, set after "
                    "start-up (bench only), one timed run each, e.g. 0,4 (0: as the engine left them); engine-*: "
                    "one value")
    ap.add_argument("--profile-pages", type=int, default=0, help="engine-gpus: pages a GPU under cProfile, last")
    ap.add_argument("--server-wait-s", type=float, default=300)
    ap.add_argument("--budget-s", type=float, default=570)
    ap.add_argument("--profile-delay", type=int, default=0, help="engine steps before the profiler starts")
    ap.add_argument("--profile-steps", type=int, default=60, help="engine steps the profiler records")
    args = ap.parse_args()
    out = Path(args.out)
    if args.cpu_check:
        print(json.dumps(cpu_check(out if args.out != "." else None)), flush=True)  # a file only if asked
        return
    if not args.model:
        ap.error("--model is required (unless --cpu-check)")
    if args.phase:
        print("RESULT " + json.dumps(run_phase(args)), flush=True)
        return
    start = time.perf_counter()
    _install_plugin_entry_point()
    ensure_pages(max(args.pages, args.engine_pages * args.gpus))
    header = {"card": gpu_name(), "date": time.strftime("%Y-%m-%d"), "args": vars(args)}
    print(json.dumps(header), flush=True)
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(header) + "\n")
    results: dict[str, dict] = {}
    for phase in order_phases(args.phases):
        left = args.budget_s - (time.perf_counter() - start)
        if left < 60:
            print(f"skip {phase}: {left:.0f} s left", flush=True)
            continue
        cmd = [sys.executable, __file__, *sys.argv[1:], "--phase", phase]
        t = time.perf_counter()
        # a session of its own: a phase that runs out of time goes with every process it started (vLLM's
        # engines keep the GPU's memory otherwise, and the next phase cannot load)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        timed_out = False
        try:
            stdout, stderr = p.communicate(timeout=left - 10)
        except subprocess.TimeoutExpired:
            _kill_session(p.pid)
            stdout, stderr = p.communicate()
            timed_out = True
        finally:
            _kill_session(p.pid)  # what the phase left behind
        lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]  # the last is the most complete
        res = json.loads(lines[-1][7:]) if lines else {"phase": phase, "failed": p.returncode, "tail": stderr[-3000:]}
        if timed_out:
            res["timeout"] = True
        (out / f"{phase}.log").write_text(stdout[-200000:] + "\n---stderr---\n" + stderr[-400000:])
        res["phase_s"] = round(time.perf_counter() - t, 1)
        results[phase] = res
        print(json.dumps(res), flush=True)
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(res) + "\n")
        (out / "summary.json").write_text(json.dumps(header | summarize(results), indent=1))  # after each phase
    summary = header | summarize(results)
    print(json.dumps(summary), flush=True)
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
