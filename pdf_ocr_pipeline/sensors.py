import json
import time

import dagster as dg

from .inbox import pdf_header_problem, scan_inbox
from .jobs import ocr_documents_job
from .partitions import document_partitions_def
from .resources import WarehouseResource


def build_new_documents_sensor(min_file_age_s: float = 10.0, interval_s: int = 15,
                               max_files_per_tick: int = 500) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_documents_sensor",
        job=ocr_documents_job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Adds a partition and launches a run for each new or changed PDF in the input folder, "
                    "once the file has stopped changing.",
    )
    def new_documents_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        state = json.loads(context.cursor) if context.cursor else {}
        state, ready, problems = scan_inbox(warehouse.inbox_dir, state, time.time_ns(), min_file_age_s,
                                            max_ready=max_files_per_tick)
        for line in problems:
            context.log.warning(line)
        run_requests, new_keys = [], []
        known = set(context.instance.get_dynamic_partitions(document_partitions_def.name)) if ready else set()
        for item in ready:
            try:
                doc_id = warehouse.registry.register(item.path)
            except OSError as e:  # a read-only data dir must not kill the sensor
                context.log.error(f"{item.path.name}: cannot register: {e}")
                continue
            problem = pdf_header_problem(item.path)
            if problem:
                # Still run it: raw_pdfs records the error where users look (UI, table, CLI).
                context.log.warning(f"{item.path.name}: {problem}")
            if doc_id not in known:
                known.add(doc_id)
                new_keys.append(doc_id)
            run_requests.append(dg.RunRequest(
                run_key=f"{doc_id}:{item.sha256}",
                partition_key=doc_id,
                tags={"pdf_ocr/sha256": item.sha256, "pdf_ocr/file": item.path.name},
            ))
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[document_partitions_def.build_add_request(new_keys)] if new_keys else [],
            cursor=json.dumps(state),
        )

    return new_documents_sensor
