"""The Kubernetes configuration (PDF_OCR_EXECUTOR=k8s, README "Deploying on Kubernetes"), as far as it can be tested
without a cluster: the definitions load with dagster-k8s's executor, its config validates, and the Kubernetes Jobs
that dagster-k8s builds for the steps put the OCR step, and only it, on a GPU node with a GPU.

The Jobs are built the way dagster-k8s's step handler builds them (K8sStepHandler._get_container_context and
launch_step): the executor's config, merged with the step's ``dagster-k8s/config`` tag, into
``construct_dagster_k8s_job``. What is not tested here: no cluster, so no Job is sent and no pod is scheduled.
"""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.execution.api import create_execution_plan  # the plan whose steps the executor launches

from pdf_ocr_pipeline import deploy_k8s
from pdf_ocr_pipeline.definitions import build_definitions
from pdf_ocr_pipeline.settings import Settings

dagster_k8s = pytest.importorskip("dagster_k8s")  # the test extra installs it; the k8s extra for deployments
import kubernetes  # noqa: E402  (dagster-k8s's dependency)
from dagster_k8s.container_context import K8sContainerContext  # noqa: E402
from dagster_k8s.job import (  # noqa: E402
    USER_DEFINED_K8S_CONFIG_KEY,
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
    get_k8s_job_name,
    get_user_defined_k8s_config,
)

DEPLOY = Path(__file__).parents[1] / "deploy" / "k8s"
IMAGE = "registry.example.com/pdf-ocr:0.1.0"
GPU = "nvidia.com/gpu"


def k8s_settings(tmp_path: Path, **overrides) -> Settings:
    return Settings(data_dir=tmp_path, inbox_dir=tmp_path / "in", executor="k8s", k8s_image=IMAGE,
                    k8s_namespace="pdf-ocr", **overrides)


def executor_config(job: dg.JobDefinition) -> dict:
    """The executor config the run gets: the job's run config validated, defaults filled in."""
    execution = dg.validate_run_config(job, {})["execution"]
    assert list(execution) == ["k8s"]
    return execution["k8s"]


def step_job_manifests(job: dg.JobDefinition) -> dict[str, dict]:
    """Step key -> the Kubernetes Job manifest (API field names) dagster-k8s would create for that step."""
    config = executor_config(job)
    executor_context = K8sContainerContext(
        namespace=config.get("job_namespace"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(config.get("step_k8s_config", {})),
    )
    job_config = DagsterK8sJobConfig(job_image=config["job_image"], dagster_home="/opt/dagster/dagster_home",
                                     instance_config_map="dagster-instance")
    run_id = "0b2d7a9e-3c1f-4d5e-8a6b-7c8d9e0f1a2b"
    manifests = {}
    for step in create_execution_plan(job, run_config={}).steps:
        step_context = executor_context.merge(
            K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(step.tags)))
        name = f"dagster-step-{get_k8s_job_name(run_id, step.key)}"
        k8s_job = construct_dagster_k8s_job(
            job_config=job_config, args=["dagster", "api", "execute_step"], job_name=name, pod_name=name,
            component="step_worker", user_defined_k8s_config=step_context.run_k8s_config,
            labels={"dagster/job": job.name, "dagster/op": step.key, "dagster/run-id": run_id},
        )
        assert isinstance(k8s_job, kubernetes.client.V1Job)
        manifests[step.key] = kubernetes.client.ApiClient().sanitize_for_serialization(k8s_job)
    return manifests


def test_k8s_definitions_load_with_dagster_k8s_executor(tmp_path: Path):
    defs = build_definitions(k8s_settings(tmp_path))
    dg.Definitions.validate_loadable(defs)
    for job in (defs.resolve_job_def("ocr_documents_job"), defs.resolve_implicit_global_asset_job_def()):
        # .configured() keeps dagster-k8s's executor function: this is k8s_job_executor with our config
        assert job.executor_def.name == "k8s"
        assert job.executor_def.executor_creation_fn is dagster_k8s.k8s_job_executor.executor_creation_fn
        config = executor_config(job)
        assert config["job_image"] == IMAGE and config["job_namespace"] == "pdf-ocr"


def test_the_k8s_executor_config_is_checked_against_dagster_k8s_schema(tmp_path: Path):
    defs = build_definitions(k8s_settings(tmp_path))
    job = defs.resolve_job_def("ocr_documents_job")
    # a run may add to the executor config; dagster-k8s's schema says what is allowed
    ok = {"execution": {"config": {"max_concurrent": 2, "env_config_maps": ["pdf-ocr-env"]}}}
    assert dg.validate_run_config(job, ok)["execution"]["k8s"]["max_concurrent"] == 2
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"execution": {"config": {"job_namespace": ["not", "a", "string"]}}})
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"execution": {"config": {"no_such_field": 1}}})


def test_unset_image_and_namespace_are_left_to_the_run_launcher_and_code_location(tmp_path: Path):
    defs = build_definitions(Settings(data_dir=tmp_path, executor="k8s"))
    config = executor_config(defs.resolve_job_def("ocr_documents_job"))
    assert "job_image" not in config and "job_namespace" not in config


def test_the_ocr_step_alone_gets_a_gpu_and_a_gpu_node(tmp_path: Path):
    manifests = step_job_manifests(build_definitions(k8s_settings(tmp_path)).resolve_job_def("ocr_documents_job"))
    assert {"raw_pdfs", "rendered_pages", "ocr_pages", "bpmn_elements", "bpmn_models", "run_metrics"} <= set(manifests)
    assert len(manifests) > 6  # the asset checks are steps (pods) of their own too

    ocr = manifests["ocr_pages"]
    pod = ocr["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert ocr["kind"] == "Job" and container["image"] == IMAGE
    assert container["resources"]["limits"][GPU] == "1"
    assert container["resources"]["requests"]["cpu"] == "4"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}} in pod["volumes"]
    assert "affinity" not in pod

    for key, manifest in manifests.items():
        if key == "ocr_pages":
            continue
        pod = manifest["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["image"] == IMAGE
        assert GPU not in container["resources"].get("limits", {}) and GPU not in container["resources"]["requests"], key
        assert container["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}, key
        assert "nodeSelector" not in pod and "tolerations" not in pod, key
        terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "DoesNotExist"}]}], key


def test_the_tags_are_what_dagster_k8s_reads():
    assert deploy_k8s.K8S_CONFIG_TAG == USER_DEFINED_K8S_CONFIG_KEY
    gpu = get_user_defined_k8s_config(deploy_k8s.GPU_STEP_TAGS)  # validates against dagster-k8s's tag schema
    assert gpu.container_config["resources"]["limits"][GPU] == "1"
    assert gpu.pod_spec_config["node_selector"] == deploy_k8s.GPU_NODE_SELECTOR
    cpu = get_user_defined_k8s_config(deploy_k8s.CPU_STEP_TAGS)
    assert GPU not in str(cpu.container_config) and "node_selector" not in cpu.pod_spec_config


def test_the_tags_do_not_change_the_default_executor(tmp_path: Path):
    defs = build_definitions(Settings(data_dir=tmp_path))
    job = defs.resolve_job_def("ocr_documents_job")
    assert job.executor_def.name == "in_process"
    assert build_definitions(Settings(data_dir=tmp_path, executor="multiprocess")).resolve_job_def(
        "ocr_documents_job").executor_def.name == "multi_or_in_process_executor"


def test_settings_pick_the_executor_from_the_environment():
    s = Settings.from_env({"PDF_OCR_EXECUTOR": "k8s", "PDF_OCR_K8S_IMAGE": IMAGE, "PDF_OCR_K8S_NAMESPACE": "ocr"})
    assert (s.executor, s.k8s_image, s.k8s_namespace) == ("k8s", IMAGE, "ocr")
    assert Settings.from_env({}).executor == "in_process"
    with pytest.raises(ValueError):
        Settings.from_env({"PDF_OCR_EXECUTOR": "celery"})


def test_without_dagster_k8s_the_k8s_executor_says_what_to_install(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dagster_k8s", None)  # as if it were not installed: import raises ImportError
    with pytest.raises(ImportError, match=r"pip install -e \.\[k8s\]"):
        build_definitions(k8s_settings(tmp_path))


def test_the_package_does_not_import_dagster_k8s_unless_asked():
    code = ("import sys\nfrom pdf_ocr_pipeline.definitions import defs\nimport dagster as dg\n"
            "dg.Definitions.validate_loadable(defs())\n"
            "print(any(m.split('.')[0] in ('dagster_k8s', 'kubernetes') for m in sys.modules))\n")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("PDF_OCR_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_the_helm_values_we_ship_select_the_k8s_executor_and_mount_the_data_where_settings_look():
    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    [deployment] = values["dagster-user-deployments"]["deployments"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    settings = Settings.from_env(env)
    assert settings.executor == "k8s"
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "pdf_ocr_pipeline.definitions", "-a", "defs"]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}  # runs and steps get the env and volume
    mounts = {m["name"]: m["mountPath"] for m in deployment["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in deployment["volumes"]}
    assert mounts == {"data": str(settings.data_dir)} and Path(settings.inbox_dir).is_relative_to(settings.data_dir)
    pvc = yaml.safe_load((DEPLOY / "data-pvc.yaml").read_text())
    assert pvc["kind"] == "PersistentVolumeClaim" and claims == {"data": pvc["metadata"]["name"]}
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # every step's pod reads and writes the warehouse
    # the "gpu" pool: as many OCR steps at once as the cluster has GPUs for them
    assert values["concurrency"]["enabled"] is True and values["concurrency"]["pools"]["defaultLimit"] >= 1


class RecordingBatchApi:
    """Stands in for the Kubernetes API server (kubernetes.client.BatchV1Api): keeps the Jobs it is asked to create."""

    def __init__(self):
        self.jobs: list[tuple[str, kubernetes.client.V1Job]] = []

    def create_namespaced_job(self, body, namespace, **_kwargs):
        self.jobs.append((namespace, body))
        return body


def test_dagster_k8s_step_handler_launches_the_steps_where_the_tags_say(tmp_path: Path, monkeypatch):
    """The whole path of a step launch, as the run pod runs it: dagster-k8s's K8sStepHandler.launch_step merges the
    run launcher's config (as the Helm chart renders it from deploy/k8s/values.yaml), the code location's (the data
    volume, includeConfigInLaunchedRuns), the executor's and the step's tags, and creates the Job."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
    from dagster._core.execution.context_creation_job import create_context_free_log_manager
    from dagster._core.execution.retries import RetryMode
    from dagster._core.executor.init import InitExecutorContext
    from dagster._core.executor.step_delegating.step_handler.base import StepHandlerContext
    from dagster._core.test_utils import create_run_for_test
    from dagster._grpc.types import ExecuteStepArgs

    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    [deployment] = values["dagster-user-deployments"]["deployments"]
    for var in deployment["env"]:
        monkeypatch.setenv(var["name"], var["value"])
    monkeypatch.setenv("PDF_OCR_K8S_IMAGE", IMAGE)
    kubeconfig = tmp_path / "kubeconfig"  # read, never used: nothing is sent
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "test", "user": {"token": "unused"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }))
    run_k8s_config = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    launcher = {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": {
        "instance_config_map": "dagster-instance", "dagster_home": "/opt/dagster/dagster_home",
        "postgres_password_secret": "dagster-postgresql-secret", "job_namespace": "pdf-ocr",
        "service_account_name": "dagster", "load_incluster_config": False, "kubeconfig_file": str(kubeconfig),
        "run_k8s_config": {"container_config": run_k8s_config["containerConfig"]},
    }}
    code_location = {"k8s": {  # what includeConfigInLaunchedRuns hands to the runs of the code location
        "env_vars": [f"{v['name']}={v['value']}" for v in deployment["env"]],
        "volumes": [{"name": v["name"], "persistent_volume_claim": {"claim_name": v["persistentVolumeClaim"]["claimName"]}}
                    for v in deployment["volumes"]],
        "volume_mounts": [{"name": m["name"], "mount_path": m["mountPath"]} for m in deployment["volumeMounts"]],
    }}
    repo = ReconstructableRepository.for_module("pdf_ocr_pipeline.definitions", "defs", container_context=code_location)
    recon_job = repo.get_reconstructable_job("ocr_documents_job")
    job_def = recon_job.get_definition()
    assert job_def.executor_def.name == "k8s"

    with dg.instance_for_test(overrides={"run_launcher": launcher}) as instance:
        run = create_run_for_test(instance, job_name=job_def.name, job_code_origin=recon_job.get_python_origin())
        executor = dagster_k8s.k8s_job_executor.executor_creation_fn(InitExecutorContext(
            job=recon_job, executor_def=job_def.executor_def, instance=instance,
            executor_config=dg.validate_run_config(job_def, {})["execution"]["k8s"]))
        handler = executor._step_handler  # noqa: SLF001  (the executor's own step handler)
        api = RecordingBatchApi()
        handler._api_client.batch_api = api  # noqa: SLF001  (nothing goes to a cluster)
        plan = create_execution_plan(job_def, run_config={})
        plan_context = PlanOrchestrationContext(
            plan_data=PlanData(job=recon_job, dagster_run=run, instance=instance, execution_plan=plan,
                               raise_on_error=True, retry_mode=RetryMode.DISABLED),
            log_manager=create_context_free_log_manager(instance, run), executor=executor, output_capture=None)
        launched = {}
        for step_key in ("ocr_pages", "rendered_pages", "ocr_pages_ocr_pages_complete"):
            list(handler.launch_step(StepHandlerContext(
                instance=instance, plan_context=plan_context, steps=plan.steps,
                execute_step_args=ExecuteStepArgs(recon_job.get_python_origin(), run.run_id, [step_key]))))
            namespace, body = api.jobs[-1]
            assert namespace == "pdf-ocr"
            launched[step_key] = kubernetes.client.ApiClient().sanitize_for_serialization(body)

    for key, manifest in launched.items():
        pod = manifest["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["image"] == IMAGE
        assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"], key
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "pdf-ocr-data"}} in pod["volumes"], key
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["PDF_OCR_EXECUTOR"] == "k8s" and env["DAGSTER_RUN_STEP_KEY"] == key
        if key == "ocr_pages":
            assert container["resources"]["limits"][GPU] == "1"
            assert container["resources"]["requests"] == {"cpu": "4", "memory": "16Gi"}  # over the run pod's
            assert pod["nodeSelector"] == deploy_k8s.GPU_NODE_SELECTOR
            assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
            assert "affinity" not in pod
        else:
            assert GPU not in container["resources"].get("limits", {}), key
            assert container["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}, key
            assert "nodeSelector" not in pod and "tolerations" not in pod, key
            assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"], key


def test_the_image_installs_what_run_and_step_pods_need():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    root = Path(__file__).parents[1]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    # the executor, and the PostgreSQL storage of the instance the Helm chart configures
    assert sorted(extras["k8s"]) == ["dagster-k8s==0.29.27", "dagster-postgres==0.29.27"]
    pins = dict(line.split("==") for line in (root / "requirements" / "constraints.txt").read_text().split())
    assert pins["dagster-k8s"] == pins["dagster-postgres"] == "0.29.27" and pins["dagster"] == "1.13.27"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "ARG GPU=1" in dockerfile and "extras=k8s,gpu;" in dockerfile and "extras=k8s;" in dockerfile
    assert 'pip install --no-cache-dir -c /tmp/constraints.txt ".[$extras]"' in dockerfile


def test_the_readme_shows_the_helm_values_we_ship():
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    section = readme.split("## Deploying on Kubernetes", 1)[1].split("\n## ", 1)[0]
    shown = yaml.safe_load(section.split("`values.yaml` in short", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0])
    shipped = yaml.safe_load((DEPLOY / "values.yaml").read_text())

    def same(a, b, path="values"):
        if a is None:  # elided in the README (a comment says what is there)
            return
        if isinstance(a, dict):
            assert isinstance(b, dict) and set(a) <= set(b), path
            for k in a:
                same(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list):
            assert isinstance(b, list) and len(a) == len(b), path
            for i, (x, y) in enumerate(zip(a, b)):
                same(x, y, f"{path}[{i}]")
        else:
            assert a == b, path

    same(shown, shipped)
    env = {e["name"]: e["value"] for e in shipped["dagster-user-deployments"]["deployments"][0]["env"]}
    assert all(f"{k}={v}" in section.replace("\n             # ", " ") for k, v in env.items()), env
