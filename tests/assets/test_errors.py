from pathlib import Path

import dagster as dg
import pytest

from pdf_ocr_pipeline.assets._errors import pipeline_errors
from pdf_ocr_pipeline.errors import EngineUnavailableError, InputPdfError, MissingDependencyError

from ..fakes import FakeEngineResource


def test_an_engine_that_does_not_answer_is_retried_later():
    with pytest.raises(dg.RetryRequested):
        with pipeline_errors():
            raise EngineUnavailableError("no vLLM server answers at http://127.0.0.1:8000")


@pytest.mark.parametrize("error", [InputPdfError("x.pdf: not a PDF"), MissingDependencyError("no rus data")])
def test_permanent_errors_fail_at_once_with_their_hint(error):
    with pytest.raises(dg.Failure) as info:
        with pipeline_errors():
            raise error
    assert info.value.allow_retries is False and error.hint in info.value.description


def test_an_unsafe_partition_key_from_the_ui_fails_clearly(tmp_path: Path):
    data = tmp_path / "data"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("documents", ["../../etc"])
    from pdf_ocr_pipeline.assets import raw_pdfs
    from pdf_ocr_pipeline.resources import WarehouseResource

    result = dg.materialize([raw_pdfs], partition_key="../../etc", instance=instance, raise_on_error=False,
                            resources={"warehouse": WarehouseResource(data_dir=str(data), inbox_dir=str(tmp_path)),
                                       "ocr_engine": FakeEngineResource()})
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "cannot name a document" in failure.step_failure_data.user_failure_data.description
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing written anywhere
