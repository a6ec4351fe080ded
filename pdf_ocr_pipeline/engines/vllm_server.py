"""``pdf-ocr serve``: one vLLM OpenAI-compatible server with DeepSeek-OCR's recipe, started once and shared.

The recipe: the no-repeat n-gram logits processor (ours, batched, or vLLM's ``NGramPerReqLogitsProcessor``),
prefix caching off, the multimodal processor cache off, DeepSeek-OCR's chat template, greedy by default
(``temperature`` 0). ``skip_special_tokens=False`` and the n-gram settings are per request; the client
(``vllm_transport.ServerTransport``) sends them. No vLLM import here: the command runs in a child process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import MissingDependencyError
from .deepseek_vllm import NGRAM_PROCESSORS, NgramImpl, plugin_env


class ServeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field("deepseek-ai/DeepSeek-OCR", min_length=1)
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    gpu_memory_utilization: Annotated[float, Field(ge=0.05, le=0.99)] = 0.9
    max_num_seqs: Annotated[int, Field(ge=1, le=4096)] = 512
    max_model_len: Annotated[int, Field(ge=1024, le=32768)] = 8192
    api_server_count: Annotated[int, Field(ge=1, le=64, description="front-end processes (image prep)")] = 4
    engine_threads: Annotated[int, Field(ge=0, le=256, description="torch's CPU threads in the engine core once "
                                                                   "started; 0: vLLM's (one per core)")] = 4
    resolution: Literal["base", "gundam"] = "base"
    ngram_impl: NgramImpl = "sampler"
    load_format: Literal["auto", "dummy"] = "auto"
    extra_args: tuple[str, ...] = ()


def chat_template() -> str | None:
    """vLLM's own DeepSeek-OCR chat template, found without importing vLLM; None if vLLM is not installed."""
    spec = importlib.util.find_spec("vllm")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "transformers_utils" / "chat_templates" / "template_deepseek_ocr.jinja"
    return str(path) if path.is_file() else None


def serve_command(options: ServeOptions) -> list[str]:
    """The ``vllm serve`` command line for ``options`` (run it with ``serve_env(options)``)."""
    o = options
    cmd = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", o.model,
           "--host", o.host, "--port", str(o.port), "--served-model-name", o.served_model_name or o.model,
           *(["--logits-processors", NGRAM_PROCESSORS[o.ngram_impl]] if NGRAM_PROCESSORS[o.ngram_impl] else []),
           "--no-enable-prefix-caching", "--mm-processor-cache-gb", "0",
           "--limit-mm-per-prompt", json.dumps({"image": 1}),
           "--override-generation-config", json.dumps({"temperature": 0.0}),
           "--gpu-memory-utilization", str(o.gpu_memory_utilization), "--max-num-seqs", str(o.max_num_seqs),
           "--max-model-len", str(o.max_model_len), "--api-server-count", str(o.api_server_count),
           "--load-format", o.load_format]
    template = chat_template()
    if template:
        cmd += ["--chat-template", template]
    return cmd + list(o.extra_args)


def serve_env(options: ServeOptions, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the server: resolution, n-gram ban and engine threads for our vLLM plugin, usage
    stats off."""
    env = dict(os.environ if base is None else base)
    env.update(plugin_env(options.resolution, options.ngram_impl, options.engine_threads))
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    return env


def plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value.startswith("pdf_ocr_pipeline.engines.vllm_plugin")
               for ep in entry_points(group="vllm.general_plugins"))


def run_server(options: ServeOptions) -> int:
    """Run the server in the foreground until it exits (Ctrl-C stops it); returns its exit code.

    Raises:
        MissingDependencyError: vLLM is not installed, or our vLLM plugin is not and the options need it.
    """
    if importlib.util.find_spec("vllm") is None:
        raise MissingDependencyError("vLLM is not installed", hint="pip install -e '.[gpu]'")
    needs = [w for w, on in (("resolution 'base'", options.resolution == "base"),
                             ("ngram_impl 'sampler'", options.ngram_impl == "sampler")) if on]
    if needs and not plugin_installed():
        raise MissingDependencyError(
            f"{' and '.join(needs)} need the pdf_ocr vLLM plugin (entry point vllm.general_plugins)",
            hint="reinstall the package (pip install -e '.[gpu]'), or use --resolution gundam --ngram-impl batched")
    proc = subprocess.Popen(serve_command(options), env=serve_env(options))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
