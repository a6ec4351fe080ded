"""Running on Kubernetes: where each step's pod goes, and Dagster's Kubernetes executor.

Everything Kubernetes-specific is here (README "Deploying on Kubernetes"; the cluster side is deploy/k8s/):
- the steps' tags: ``dagster-k8s/config`` as dagster-k8s reads it (snake_case Kubernetes fields). The OCR step asks
  for one GPU and goes to GPU nodes; every other step asks for CPU and memory and stays off GPU nodes. The tags are
  plain data on the ops, so they cost nothing under the other executors.
- ``build_executor(settings)``: ``PDF_OCR_EXECUTOR`` picks Dagster's executor; ``k8s`` is dagster-k8s's
  ``k8s_job_executor`` (one Kubernetes Job per step), imported only then (the ``k8s`` extra).

Change the node label, taint or sizes for your cluster here; tests/test_k8s.py builds the step Jobs from them.
"""

from __future__ import annotations

import json

import dagster as dg

from .settings import Settings

K8S_CONFIG_TAG = "dagster-k8s/config"  # dagster_k8s.job.USER_DEFINED_K8S_CONFIG_KEY, without importing dagster-k8s

# GPU nodes: NVIDIA's GPU Feature Discovery (part of the GPU Operator) labels them nvidia.com/gpu.present=true;
# GPU node pools are usually tainted nvidia.com/gpu:NoSchedule so that only pods that tolerate it land there.
GPU_NODE_LABEL = "nvidia.com/gpu.present"
GPU_NODE_SELECTOR = {GPU_NODE_LABEL: "true"}
GPU_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

# The OCR step: one GPU (the GPU engine with PDF_OCR_VLLM_TRANSPORT=in-process loads the model in the step's pod),
# cores for rendering crops and the Tesseract fallback, and a memory-backed /dev/shm (vLLM's workers share tensors
# through it; a container's default is 64 MiB).
OCR_STEP_K8S_CONFIG = {
    "container_config": {
        "resources": {
            "requests": {"cpu": "4", "memory": "16Gi"},
            "limits": {"memory": "32Gi", "nvidia.com/gpu": "1"},
        },
        "volume_mounts": [{"name": "dshm", "mount_path": "/dev/shm"}],
    },
    "pod_spec_config": {
        "node_selector": GPU_NODE_SELECTOR,
        "tolerations": GPU_TOLERATIONS,
        "volumes": [{"name": "dshm", "empty_dir": {"medium": "Memory", "size_limit": "8Gi"}}],
    },
}

# Every other step (reading PDFs, rendering pages, BPMN, metrics, the checks): CPU nodes only, required rather than
# preferred, so a CPU step never takes a GPU node's room even where GPU nodes are not tainted.
CPU_STEP_K8S_CONFIG = {
    "container_config": {
        "resources": {
            "requests": {"cpu": "1", "memory": "2Gi"},
            "limits": {"memory": "8Gi"},
        },
    },
    "pod_spec_config": {
        "affinity": {"node_affinity": {"required_during_scheduling_ignored_during_execution": {
            "node_selector_terms": [{"match_expressions": [{"key": GPU_NODE_LABEL, "operator": "DoesNotExist"}]}],
        }}},
    },
}

GPU_STEP_TAGS = {K8S_CONFIG_TAG: json.dumps(OCR_STEP_K8S_CONFIG)}
CPU_STEP_TAGS = {K8S_CONFIG_TAG: json.dumps(CPU_STEP_K8S_CONFIG)}


def k8s_executor_config(settings: Settings) -> dict:
    """The k8s executor's config: what is not set is inherited from the run launcher and the code location."""
    config: dict = {}
    if settings.k8s_image:
        config["job_image"] = settings.k8s_image
    if settings.k8s_namespace:
        config["job_namespace"] = settings.k8s_namespace
    return config


def build_executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """The executor ``PDF_OCR_EXECUTOR`` names; None keeps Dagster's default (multiprocess).

    In-process is ours: a document's stages form one chain, so a process per step buys no parallelism and costs
    each step a fresh Python with Dagster and the pipeline imported (a 50-page text-layer run: 14.1 s against
    1.2 s, ``bench/dagster_overhead.py``).
    """
    if settings.executor == "multiprocess":
        return None
    if settings.executor == "in_process":
        return dg.in_process_executor
    try:
        from dagster_k8s import k8s_job_executor
    except ImportError as e:
        raise ImportError("PDF_OCR_EXECUTOR=k8s needs dagster-k8s, which is not installed: "
                          "pip install -e .[k8s]") from e
    defaults = k8s_executor_config(settings)
    # The settings fill in what a run's own executor config (launchpad, run config) leaves out; dagster-k8s's schema
    # checks the result.
    return k8s_job_executor.configured(lambda run_config: {**defaults, **run_config},
                                       config_schema=k8s_job_executor.config_schema.as_field())
