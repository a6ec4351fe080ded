"""What vLLM hands back, faked at the narrowest boundary: its ``RequestOutput`` objects through a stand-in for
``vllm.LLM``, with outputs shaped like DeepSeek-OCR's. A module of its own so that the engine processes of the
several-GPU transport (spawned, they import what they run) can build the stand-in without the test module."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

# What DeepSeek-OCR writes (shapes taken from its outputs): a grounded document page, a diagram page read with
# "OCR this image." (one ref with two boxes), a runaway repetition and an output cut inside a box.
DOC = """<|ref|>title<|/ref|><|det|>[[102, 60, 898, 95]]<|/det|>
# Квартальный отчёт

<|ref|>text<|/ref|><|det|>[[100, 120, 900, 300]]<|/det|>
Выручка выросла на 12% по сравнению с прошлым кварталом.

<|ref|>image<|/ref|><|det|>[[150, 320, 850, 600]]<|/det|>


<|ref|>image_caption<|/ref|><|det|>[[300, 610, 700, 630]]<|/det|>
Рис. 1. Динамика продаж

<|ref|>table<|/ref|><|det|>[[100, 650, 900, 900]]<|/det|>
<table><tr><td>Q1</td><td>100</td></tr><tr><td>Q2</td><td>112</td></tr></table><｜end▁of▁sentence｜>"""
BPMN = """<|ref|>Start<|/ref|><|det|>[[40, 410, 90, 440]]<|/det|>
<|ref|>Approve invoice<|/ref|><|det|>[[200, 380, 330, 470]]<|/det|>
<|ref|>Yes<|/ref|><|det|>[[400, 300, 430, 320], [600, 500, 630, 520]]<|/det|>"""
RUNAWAY = "<|ref|>table<|/ref|><|det|>[[100, 100, 900, 900]]<|/det|>\n<table>" + "<tr><td>0</td><td>0</td></tr>" * 300
TRUNCATED = "<|ref|>text<|/ref|><|det|>[[100, 100, 900, 2"
# "Parse the figure." on a chart: DeepSeek-OCR was trained to turn charts into HTML tables (its paper, 3.4.2).
FIGURE = ("<table><tr><td></td><td>2023</td><td>2024</td></tr><tr><td>Договоры</td><td>120</td><td>145</td></tr>"
          "</table><｜end▁of▁sentence｜>")



@dataclass
class FakeCompletionOutput:  # vllm.outputs.CompletionOutput
    text: str
    finish_reason: str
    token_ids: list[int]


@dataclass
class FakeRequestOutput:  # vllm.outputs.RequestOutput, as LLMEngine.step() returns it (FINAL_ONLY)
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[FakeCompletionOutput]
    finished: bool = True


@dataclass
class FakeLLM:
    """Stands in for ``vllm.LLM``: ``llm_engine.add_request`` / ``step``. Finishes up to ``per_step`` requests a
    step, newest first (so results come back out of order, as they do on a GPU)."""

    answer: callable
    per_step: int = 2
    added: list = field(default_factory=list)
    queue: list = field(default_factory=list)

    @property
    def llm_engine(self):
        return self

    def add_request(self, request_id, prompt, params):
        assert prompt["prompt"].startswith("<image>\n") and prompt["multi_modal_data"]["image"].size == (1024, 1024)
        self.added.append((request_id, prompt, params))
        self.queue.append((request_id, prompt, params))

    def step(self):
        done, self.queue = self.queue[-self.per_step:], self.queue[:-self.per_step]
        outs = []
        for rid, prompt, params in reversed(done):
            text, reason = self.answer(prompt["prompt"], params)
            outs.append(FakeRequestOutput(rid, [0] * 285, [FakeCompletionOutput(text, reason, [5] * (len(text) // 3))]))
        return outs


@dataclass
class FakeRenderingLLM(FakeLLM):
    """Also renders each prompt first, as ``vllm.LLM._preprocess_cmpl_one`` does (vLLM >= 0.1x), noting the
    thread it ran in; a prompt holding ``refuse`` fails there, as vLLM's processor fails on a bad image."""

    refuse: str = "never"
    render_s: float = 0.005  # the processor's work; the render threads overlap it
    rendered_in: set = field(default_factory=set)
    renders: int = 0

    def _preprocess_cmpl_one(self, prompt):
        self.rendered_in.add(threading.current_thread().name)
        self.renders += 1
        time.sleep(self.render_s)
        if self.refuse in prompt["prompt"]:
            raise ValueError("cannot identify image file")
        return {**prompt, "prompt": prompt["prompt"] + f"\n<!-- rendered in {threading.current_thread().name} -->"}


def same_params(sampling):
    """The sampling factory of the tests: the engine's own ``Sampling`` reaches the stand-in as it is."""
    return sampling


def grounded_page(prompt, params):
    return DOC, "stop"


def runaway_on_first_attempt(prompt, params):
    """A runaway page at DeepSeek-OCR's recipe; a clean one with the retry's stronger repeat settings."""
    return (RUNAWAY, "length") if params.ngram_size == 30 else (DOC, "stop")


def gpu_of_this_process(prompt, params):
    """The page's text says which GPU its process was pinned to."""
    return DOC + f"\n<!-- gpu {os.environ.get('CUDA_VISIBLE_DEVICES')} -->", "stop"


def gpu1_dies(prompt, params):
    """The process pinned to GPU 1 dies at its first page (as on a CUDA error that kills vLLM's engine)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "1":
        os._exit(3)
    return gpu_of_this_process(prompt, params)


def build_fake_llm(answer=grounded_page, per_step: int = 2) -> "FakeLLM":
    return FakeLLM(answer, per_step)


def build_fake_rendering_llm(answer=grounded_page) -> "FakeRenderingLLM":
    """A rendering stand-in whose pages say, in their text, the thread that rendered them."""
    return FakeRenderingLLM(lambda prompt, params: (answer(prompt, params)[0] + prompt.rsplit("\n", 1)[1], "stop"))


def fail_to_load():
    raise RuntimeError("CUDA out of memory while loading the weights")


def build_llm_stuck_on_exit(pid_dir: str) -> "FakeLLM":
    """A stand-in whose engine never stops when told (as vLLM's engine core could hang), having started a process
    of its own (as vLLM starts its engine core); that process's pid is left in ``pid_dir``."""
    import subprocess
    import time
    import types
    from pathlib import Path

    helper = subprocess.Popen(["sleep", "600"])
    Path(pid_dir, f"{os.getpid()}.pid").write_text(str(helper.pid))
    llm = FakeLLM(grounded_page)
    llm.engine_core = types.SimpleNamespace(shutdown=lambda: time.sleep(600))
    return llm
