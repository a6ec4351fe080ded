"""Start the real `dagster dev` for a test, and talk to it over GraphQL like the UI does."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gql(client: httpx.Client, query: str, **variables) -> dict:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def repository(client: httpx.Client) -> tuple[str, str] | None:
    """(repository name, code location name) once the code location has loaded."""
    data = gql(client, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }")
    nodes = data["repositoriesOrError"].get("nodes") or []
    return (nodes[0]["name"], nodes[0]["location"]["name"]) if nodes else None


def fresh_instance_dirs(tmp: Path) -> tuple[Path, Path, Path]:
    """``(home, inbox, data)`` under ``tmp``: a DAGSTER_HOME with the project's dagster.yaml, an empty inbox."""
    home, inbox, data = tmp / "home", tmp / "input", tmp / "data"
    home.mkdir()
    inbox.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    return home, inbox, data


@contextlib.contextmanager
def dagster_dev(home: Path, log_path: Path, env: dict[str, str]) -> Iterator[tuple[httpx.Client, str]]:
    """`dagster dev -w workspace.yaml` on a free port of 127.0.0.1 with ``DAGSTER_HOME=home``; yields a client
    once the code location has loaded, and stops the whole process group afterwards."""
    port = free_port()
    dagster = str(Path(sys.executable).parent / "dagster")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                                cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(home), **env}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=30)
    try:
        deadline = time.time() + 180
        while True:
            try:
                if client.get("/server_info").status_code == 200 and repository(client):
                    break
            except (httpx.HTTPError, AssertionError):
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("dagster dev did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(1)
        yield client, base
    finally:
        client.close()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
