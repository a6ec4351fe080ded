from pathlib import Path

import dagster as dg

from pdf_ocr_pipeline.definitions import build_definitions
from pdf_ocr_pipeline.settings import Settings

ASSETS = ["bpmn_elements", "bpmn_models", "document_markdown", "figures", "ocr_pages", "raw_pdfs", "rendered_pages",
          "run_metrics"]


def test_definitions_wire_every_stage(tmp_path: Path):
    defs = build_definitions(Settings(data_dir=tmp_path, inbox_dir=tmp_path / "in", catchup_cron="*/10 * * * *"))
    graph = defs.resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == ASSETS
    for key in graph.get_all_asset_keys():
        assert graph.get(key).partitions_def.name == "documents"
    assert graph.get(dg.AssetKey("ocr_pages")).pools == {"gpu"}
    assert defs.resolve_sensor_def("new_documents_sensor").job_name == "ocr_documents_job"
    assert defs.resolve_schedule_def("catchup_schedule").cron_schedule == "*/10 * * * *"
    check_names = {k.name for k in graph.asset_check_keys}
    assert {"pdf_is_readable", "ocr_pages_complete", "bpmn_xml_valid"} <= check_names


def test_the_ocr_step_takes_the_gpu_pool_only_where_it_holds_the_engine(tmp_path: Path):
    def pools(**settings):
        defs = build_definitions(Settings(data_dir=tmp_path, **settings))
        return defs.resolve_asset_graph().get(dg.AssetKey("ocr_pages")).pools

    assert pools(engine="tesseract") == {"gpu"}  # every core: one document's OCR at a time

    def figure_pools(**settings):
        defs = build_definitions(Settings(data_dir=tmp_path, **settings))
        return defs.resolve_asset_graph().get(dg.AssetKey("figures")).pools

    # figures go to the engine only with the GPU engine's figure prompt: then in the OCR step's pool
    assert not figure_pools(engine="tesseract")
    assert figure_pools(engine="deepseek-vllm", vllm_transport="in-process") == {"gpu"}
    assert pools(engine="deepseek-vllm", vllm_transport="in-process") == {"gpu"}  # a model in the step
    # vLLM servers batch the pages of every run and bound the GPU: OCR steps of several runs go side by side
    assert not pools(engine="deepseek-vllm", vllm_transport="server")


def test_settings_come_from_the_environment_only_when_asked():
    s = Settings.from_env({"PDF_OCR_DATA_DIR": "/srv/ocr", "PDF_OCR_DPI": "300", "PDF_OCR_PAGES": "ocr",
                           "TESSDATA_PREFIX": "/opt/tessdata"})
    assert s.data_dir == Path("/srv/ocr") and s.dpi == 300 and s.pages == "ocr" and s.tessdata_dir == "/opt/tessdata"
    assert Settings.from_env({}).engine == "tesseract"


def test_the_gpu_engine_options_reach_the_engine_from_the_environment():
    settings = Settings.from_env({"PDF_OCR_ENGINE": "deepseek-vllm", "PDF_OCR_VLLM_PREP_WORKERS": "8",
                                  "PDF_OCR_VLLM_CONCURRENCY": "64", "PDF_OCR_VLLM_GPUS": "2",
                                  "PDF_OCR_VLLM_TRANSPORT": "in-process", "PDF_OCR_VLLM_RENDER_THREADS": "3",
                                  "PDF_OCR_VLLM_ENGINE_THREADS": "0"})
    options = build_definitions(settings).resources["ocr_engine"].engine_options()
    assert options["prep_workers"] == 8 and options["concurrency"] == 64 and options["gpus"] == 2
    assert options["render_threads"] == 3 and options["engine_threads"] == 0
    from pdf_ocr_pipeline.engines.deepseek_vllm import DeepSeekVllmOptions

    assert DeepSeekVllmOptions(**options).gpus == 2


def test_page_workers_are_off_unless_asked_for():
    """One process by default (flat memory); worker processes for the render and BPMN stages when asked."""
    assert build_definitions(Settings.from_env({})).resources["warehouse"].page_workers == 1
    asked = Settings.from_env({"PDF_OCR_PAGE_WORKERS": "2"})
    assert build_definitions(asked).resources["warehouse"].page_workers == 2


def test_the_instance_config_we_ship_is_valid(tmp_path: Path):
    import shutil

    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert instance.run_monitoring_enabled
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1  # the "gpu" pool
