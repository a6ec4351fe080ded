"""Where the GPU's time goes in a vLLM torch-profiler trace (the worker's ``*.pt.trace.json.gz``).

Each engine step is annotated by vLLM (``execute_context_C(c)_generation_G(g)``); kernels are tied to the step
whose CPU span launched them (through the launch's correlation id), so prefill steps (C > 0: encoder + prefill,
plus the decodes batched with them) and pure decode steps are told apart. Prints one JSON object:
GPU busy share over the window, per step kind the mean CPU span and GPU time, and the kernels that take the time,
grouped by family.

    python3 bench/trace_summary.py TRACE.json.gz > summary.json
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
import sys
from collections import defaultdict

STEP = re.compile(r"execute_context_(\d+)\((\d+)\)_generation_(\d+)\((\d+)\)")
FAMILIES = (("moe", ("fused_moe", "moe_align", "moe_sum", "topk", "count_and_sort")),
            ("attention", ("flash", "fmha", "attn", "paged")),
            ("gemm", ("gemm", "nvjet", "sm90", "cutlass", "xmma", "cublas", "splitk")),
            ("ngram_ban", ("ngram",)),
            ("sampling", ("sample", "argmax", "bad_word", "penalt", "logprob")),
            ("conv", ("conv", "implicit")),
            ("triton_fused", ("triton_",)),
            ("copy", ("memcpy", "memset", "copy", "cat", "index")))


def family(name: str) -> str:
    low = name.lower()
    for fam, keys in FAMILIES:
        if any(k in low for k in keys):
            return fam
    return "other"


def busy_union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def summarize(path: str) -> dict:
    with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as f:
        events = json.load(f)["traceEvents"]
    steps, launches, kernels = [], {}, []
    for ev in events:
        cat, name = ev.get("cat", ""), ev.get("name", "")
        if cat == "user_annotation" and (m := STEP.match(name)):
            steps.append((ev["ts"], ev["ts"] + ev.get("dur", 0), tuple(int(g) for g in m.groups())))
        elif cat in ("cuda_runtime", "cuda_driver") and "correlation" in ev.get("args", {}):
            launches[ev["args"]["correlation"]] = ev["ts"]
        elif cat == "kernel":
            kernels.append(ev)
    steps.sort()
    starts = [s[0] for s in steps]

    def step_of(ts):
        i = bisect.bisect_right(starts, ts) - 1
        return steps[i] if i >= 0 and ts <= steps[i][1] else None

    per_kind = defaultdict(lambda: {"steps": set(), "gpu_us": 0.0, "cpu_us": 0.0, "fam": defaultdict(float),
                                    "top": defaultdict(float)})
    for k in kernels:
        launch = launches.get(k.get("args", {}).get("correlation"))
        st = step_of(launch) if launch is not None else None
        kind = "none" if st is None else ("prefill" if st[2][0] > 0 else "decode")
        d = per_kind[kind]
        d["gpu_us"] += k["dur"]
        d["fam"][family(k["name"])] += k["dur"]
        d["top"][k["name"][:90]] += k["dur"]
        if st is not None:
            d["steps"].add(st[:2])
    for st in steps:
        per_kind["prefill" if st[2][0] > 0 else "decode"]["cpu_us"] += st[1] - st[0]
    window = (min(k["ts"] for k in kernels), max(k["ts"] + k["dur"] for k in kernels)) if kernels else (0, 0)
    busy = busy_union([(k["ts"], k["ts"] + k["dur"]) for k in kernels])
    out = {"trace": path.rsplit("/", 1)[-1], "window_ms": round((window[1] - window[0]) / 1e3, 1),
           "gpu_busy_ms": round(busy / 1e3, 1), "gpu_busy_share": round(busy / max(1, window[1] - window[0]), 3),
           "steps": len(steps),
           "prefill_steps_requests": sum(s[2][0] for s in steps), "kinds": {}}
    for kind, d in per_kind.items():
        n = max(1, len(d["steps"]))
        out["kinds"][kind] = {
            "steps": len(d["steps"]), "gpu_ms": round(d["gpu_us"] / 1e3, 1),
            "gpu_ms_per_step": round(d["gpu_us"] / 1e3 / n, 2),
            "cpu_span_ms_per_step": round(d["cpu_us"] / 1e3 / n, 2) if kind != "none" else None,
            "families_ms": {f: round(v / 1e3, 1) for f, v in sorted(d["fam"].items(), key=lambda x: -x[1])},
            "top_kernels_ms": {n_: round(v / 1e3, 2) for n_, v in
                               sorted(d["top"].items(), key=lambda x: -x[1])[:12]}}
    return out


if __name__ == "__main__":
    print(json.dumps([summarize(p) for p in sys.argv[1:]], indent=1))
