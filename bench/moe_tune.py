"""Tune vLLM's fused-MoE Triton kernel for DeepSeek-OCR's expert shape on the card it runs on.

vLLM 0.26 ships no config for E=64 experts of N=896 (DeepSeek-OCR's 3B MoE decoder: hidden 1280, top-6) and falls
back to a generic one ("Using default MoE config. Performance might be sub-optimal!"). This times the whole
``fused_experts`` call (both expert GEMMs, routing sort included) for each candidate tile config at each batch size
and writes the fastest per batch size in vLLM's own file format and name, which vLLM reads from
``VLLM_TUNED_CONFIG_FOLDER``. Not shipped: on the H200 vLLM's default came within 1.5% (BENCHMARKS.md).

Runs ON the GPU machine (vLLM installed)::

    python3 bench/moe_tune.py --out $OUT            # writes E=64,N=896,device_name=<card>.json and a log
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

E, HIDDEN, N, TOPK = 64, 1280, 896, 6
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384, 512, 1024, 2048, 4096, 8192)


def candidates():
    # a narrow space (each config is a Triton compile); GROUP_SIZE_M stays 1: 64 experts leave few M-blocks each
    for bm, bn, bk, gm, warps, stages in itertools.product((16, 32, 64, 128), (32, 64, 128), (64, 128),
                                                            (1,), (4, 8), (3, 4)):
        if bm == 128 and warps == 4:
            continue  # too few warps for a 128-row tile: never wins, costs a compile
        yield {"BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "GROUP_SIZE_M": gm,
               "num_warps": warps, "num_stages": stages}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("."))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--budget-s", type=float, default=420)
    args = ap.parse_args()
    import torch
    from vllm.model_executor.layers.fused_moe import override_config
    from vllm.model_executor.layers.fused_moe.fused_moe import (fused_experts, get_config_file_name,
                                                                get_default_config)

    torch.manual_seed(0)
    dev = torch.device("cuda")
    w1 = torch.randn(E, 2 * N, HIDDEN, device=dev, dtype=torch.bfloat16) / 30
    w2 = torch.randn(E, HIDDEN, N, device=dev, dtype=torch.bfloat16) / 30

    def inputs(m):
        x = torch.randn(m, HIDDEN, device=dev, dtype=torch.bfloat16)
        logits = torch.randn(m, E, device=dev)
        weights, ids = torch.topk(torch.softmax(logits, -1), TOPK, dim=-1)
        return x, weights, ids.to(torch.int32)

    def time_call(m, config):
        x, w, ids = inputs(m)
        with override_config(config):
            for _ in range(3):
                fused_experts(x, w1, w2, w, ids)
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()  # replayed: launch overhead out, as in vLLM's decode graphs
            with torch.cuda.graph(graph):
                for _ in range(10):
                    fused_experts(x, w1, w2, w, ids)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        graph.replay()
        torch.cuda.synchronize()
        start.record()
        for _ in range(args.reps):
            graph.replay()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / (args.reps * 10) * 1000  # microseconds per call

    t0 = time.perf_counter()
    best: dict[int, tuple[float, dict]] = {}
    log = []
    cands = list(candidates())
    for m in BATCHES:
        if time.perf_counter() - t0 > args.budget_s:
            break
        default = get_default_config(m, E, N, HIDDEN, TOPK, None)
        default_us = time_call(m, default)
        for c in cands:
            if time.perf_counter() - t0 > args.budget_s:
                break
            try:
                us = time_call(m, {**c, "SPLIT_K": 1})
            except Exception as e:  # out of shared memory etc.: not a candidate on this card
                log.append({"m": m, "config": c, "error": str(e)[:120]})
                continue
            if m not in best or us < best[m][0]:
                best[m] = (us, c)
        if m in best:
            log.append({"m": m, "default_us": round(default_us, 1), "best_us": round(best[m][0], 1),
                        "speedup": round(default_us / best[m][0], 3), "best": best[m][1]})
            print(json.dumps(log[-1]), flush=True)
    name = get_config_file_name(E, N, None)
    table = {str(m): best[m][1] for m in sorted(best)}
    table["triton_version"] = __import__("triton").__version__
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / name).write_text(json.dumps(table, indent=4) + "\n")
    (args.out / "moe_tune_log.jsonl").write_text("\n".join(json.dumps(r) for r in log) + "\n")
    print(f"wrote {name}: {len(best)} batch sizes in {time.perf_counter() - t0:.0f} s "
          f"({torch.cuda.get_device_name()})", file=sys.stderr)


if __name__ == "__main__":
    main()
