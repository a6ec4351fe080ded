"""The real thing: `dagster dev` started by the test, driven over its GraphQL API like the UI does.

Covers the asset graph in the webserver, materializing a partition from the UI, and the sensor picking up a file
dropped into the input folder.
"""

import time

import pytest

from .conftest import copy_fixture
from .dagster_dev import dagster_dev, fresh_instance_dirs, gql, repository
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dagster_dev_ui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    home, inbox, data = fresh_instance_dirs(tmp)
    env = {"PDF_OCR_DATA_DIR": str(data), "PDF_OCR_INBOX_DIR": str(inbox), "PDF_OCR_SENSOR_INTERVAL_S": "3",
           "PDF_OCR_MIN_FILE_AGE_S": "1", "PDF_OCR_PAGES": "text"}
    with dagster_dev(home, tmp / "dagster.log", env) as (client, _):
        yield client, inbox, data


def wait_for_run(client, partition: str, timeout: float = 180) -> str:
    query = """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
                 ... on Runs { results { runId status } } } }"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = gql(client, query, tags=[{"key": "dagster/partition", "value": partition}])["runsOrError"]["results"]
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return runs[0]["status"]
        time.sleep(2)
    raise AssertionError(f"no finished run for {partition} within {timeout}s")


def test_asset_graph_sensor_and_schedule_in_the_webserver(dagster_dev_ui):
    client, _, _ = dagster_dev_ui
    nodes = gql(client, "{ assetNodes { assetKey { path } partitionDefinition { name } } }")["assetNodes"]
    assert sorted(n["assetKey"]["path"][-1] for n in nodes) == ["bpmn_elements", "bpmn_models", "document_markdown",
                                                                  "figures", "ocr_pages", "raw_pdfs",
                                                                  "rendered_pages", "run_metrics"]
    assert {n["partitionDefinition"]["name"] for n in nodes} == {"documents"}
    repo = gql(client, """{ repositoriesOrError { ... on RepositoryConnection { nodes {
                 sensors { name sensorState { status } } schedules { name cronSchedule } } } } }""")
    node = repo["repositoriesOrError"]["nodes"][0]
    assert [(s["name"], s["sensorState"]["status"]) for s in node["sensors"]] == [("new_documents_sensor", "RUNNING")]
    assert [s["name"] for s in node["schedules"]] == ["catchup_schedule"]


def test_materialize_a_partition_from_the_ui(dagster_dev_ui, fixtures):
    client, _, data = dagster_dev_ui
    repo_name, location = repository(client)
    selector = {"repositoryName": repo_name, "repositoryLocationName": location}
    # A file outside the inbox, registered the way `pdf-ocr run` does it.
    from pdf_ocr_pipeline.inbox import DocumentRegistry

    doc_id = DocumentRegistry(data).register(fixtures / "A.1.0.pdf")
    added = gql(client, """mutation($sel: RepositorySelector!, $key: String!) {
                 addDynamicPartition(repositorySelector: $sel, partitionsDefName: "documents", partitionKey: $key) {
                 __typename } }""", sel=selector, key=doc_id)
    assert added["addDynamicPartition"]["__typename"] == "AddDynamicPartitionSuccess"
    launched = gql(client, """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
                   __typename ... on PythonError { message } } }""",
                   params={"selector": {**selector, "jobName": "ocr_documents_job"},
                           "executionMetadata": {"tags": [{"key": "dagster/partition", "value": doc_id}]}})
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    assert wait_for_run(client, doc_id) == "SUCCESS"
    assert (data / "warehouse" / "ocr_pages" / f"{doc_id}.parquet").is_file()


def test_a_dropped_pdf_is_picked_up_by_the_sensor(dagster_dev_ui):
    client, inbox, data = dagster_dev_ui
    copy_fixture("ru_report_p3-5_7.pdf", inbox, "Отчёт.pdf")
    assert wait_for_run(client, "Отчёт") == "SUCCESS"
    assert (data / "warehouse" / "run_metrics" / "Отчёт.parquet").is_file()
