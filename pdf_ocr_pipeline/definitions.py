"""The one place that wires assets, checks, resources, sensors and schedules."""

import dagster as dg

from .assets import pipeline_assets
from .checks import build_checks
from .deploy_k8s import build_executor
from .jobs import ocr_documents_job
from .resources import OcrEngineResource, WarehouseResource
from .schedules import build_catchup_schedule
from .sensors import build_new_documents_sensor
from .settings import Settings


def ocr_pool(settings: Settings) -> str | None:
    """The OCR step's Dagster pool: none when it only sends pages to vLLM servers (they batch every run's pages
    and bound the GPU themselves), else "gpu", one step at a time (``dagster.yaml``)."""
    return None if settings.engine == "deepseek-vllm" and settings.vllm_transport == "server" else "gpu"


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=pipeline_assets(ocr_pool(settings), ocr_pool(settings) if settings.engine != "tesseract" else None),
        asset_checks=build_checks(settings.max_fallback_rate),
        jobs=[ocr_documents_job],
        sensors=[build_new_documents_sensor(settings.min_file_age_s, settings.sensor_interval_s,
                                            settings.max_files_per_tick)],
        schedules=[build_catchup_schedule(settings.catchup_cron)],
        executor=build_executor(settings),
        resources={
            "warehouse": WarehouseResource(data_dir=str(settings.data_dir.absolute()),
                                           inbox_dir=str(settings.inbox_dir.absolute()),
                                           page_workers=settings.page_workers),
            "ocr_engine": OcrEngineResource(
                engine=settings.engine, pages=settings.pages, dpi=settings.dpi, preview_dpi=settings.preview_dpi, max_pixels=settings.max_pixels,
                max_pages=settings.max_pages, page_timeout_s=settings.page_timeout_s,
                languages=settings.languages, tessdata_dir=settings.tessdata_dir, workers=settings.workers,
                model=settings.model, transport=settings.vllm_transport, server_urls=list(settings.vllm_urls),
                concurrency=settings.vllm_concurrency, prep_workers=settings.vllm_prep_workers,
                gpus=settings.vllm_gpus, render_threads=settings.vllm_render_threads,
                engine_threads=settings.vllm_engine_threads, model_family=settings.model_family,
                batch_size=settings.transformers_batch_size, device=settings.transformers_device,
                dtype=settings.transformers_dtype,
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
