"""Structural checks of the deployment files (no Docker engine needed)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
SEARCH_ATTRIBUTES = ("SegmentId", "TenantId", "SegmentPhase")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.temporal.yml").read_text())
    return dict(compose["services"])


def _dockerfile() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in _dockerfile() if line.split(None, 1)[0].upper() == name]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _published(service: dict[str, Any]) -> set[int]:
    ports = set()
    for port in service.get("ports", []):
        spec = str(port["published"] if isinstance(port, dict) else port)
        ports.add(int(spec.split(":")[-2] if spec.count(":") else spec))
    return ports


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def test_services_exist(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "postgresql",
        "temporal",
        "temporal-search-attributes",
        "temporal-ui",
        "worker",
        "codec-server",
    }
    assert expected <= set(services)


def _assert_pinned(image: str) -> None:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{image} has no tag"
    assert tag != "latest" and not tag.startswith("$"), f"{image} is not pinned"
    assert re.search(r"\d", tag), f"{image}: tag {tag!r} names no version"


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for service in services.values():
        if "build" in service:
            assert "image" not in service or not service["image"].endswith(":latest")
            continue
        _assert_pinned(service["image"])
    [base] = _instructions("FROM")
    _assert_pinned(base)
    assert base.startswith("python:3.11-slim")


def test_ports(services: dict[str, dict[str, Any]]) -> None:
    assert 7233 in _published(services["temporal"])
    assert 8080 in _published(services["temporal-ui"])


def test_temporal_runs_on_postgres(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["temporal"])
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert env["DB"] == "postgres12" and env["POSTGRES_SEEDS"] == "postgresql"
    assert env["POSTGRES_PWD"] == _env(services["postgresql"])["POSTGRES_PASSWORD"]
    assert services["temporal"]["healthcheck"]["test"]
    assert services["postgresql"]["healthcheck"]["test"]


def test_worker_runs_python_worker_py_non_root(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert worker["build"]["context"] == "."
    [cmd] = _instructions("CMD")
    assert (_command(worker) or json.loads(cmd)) == ["python", "worker.py"]
    lines = _dockerfile()
    install = next(i for i, line in enumerate(lines) if "pip install" in line)
    user = next(i for i, line in enumerate(lines) if line.upper().startswith("USER "))
    assert user > install and lines[user].split()[1] not in ("root", "0")
    assert int(worker["deploy"]["replicas"]) >= 1


def test_clients_point_at_the_temporal_service(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "temporal-ui", "temporal-search-attributes"):
        host, _, port = _env(services[name])["TEMPORAL_ADDRESS"].partition(":")
        assert host in services and port == "7233", name
    assert _env(services["worker"])["TEMPORAL_TASK_QUEUE"] == "segments"
    assert "TEMPORAL_CODEC_ENDPOINT" in _env(services["temporal-ui"])


def test_search_attributes_are_registered_as_keyword(services: dict[str, dict[str, Any]]) -> None:
    service = services["temporal-search-attributes"]
    assert service["image"].startswith("temporalio/admin-tools:")
    script = " ".join(_command(service))
    assert "temporal operator search-attribute create" in script
    assert "--type Keyword" in script and "--type Text" not in script
    for name in SEARCH_ATTRIBUTES:
        assert re.search(rf"\b{name}\b", script), name


def test_startup_order(services: dict[str, dict[str, Any]]) -> None:
    assert _depends(services["temporal"]) == {"postgresql": "service_healthy"}
    assert _depends(services["temporal-search-attributes"])["temporal"] == "service_healthy"
    assert _depends(services["temporal-ui"])["temporal"] == "service_healthy"
    worker = _depends(services["worker"])
    assert worker["temporal"] == "service_healthy"
    assert worker["temporal-search-attributes"] == "service_completed_successfully"


def test_codec_server_is_optional_and_runs_our_module(services: dict[str, dict[str, Any]]) -> None:
    codec = services["codec-server"]
    assert codec["profiles"] == ["codec"]
    command = _command(codec)
    assert command[:3] == ["python", "-m", "client.codec_server"]
    assert "SEGMENTS_CODEC_KEYS" in _env(codec) and "SEGMENTS_CODEC_CORS_ORIGINS" in _env(codec)
    from client.codec_server import main

    with pytest.raises(SystemExit):
        main(["--help"])


def test_gateway_serves_our_module_against_the_temporal_service(services: dict[str, dict[str, Any]]) -> None:
    gateway = services["gateway"]
    assert gateway["command"][:3] == ["python", "-m", "gateway"]
    assert gateway["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "SEGMENTS_GATEWAY_TOKENS" in gateway["environment"]
    assert gateway["ports"] == ["8000:8000"]
    assert (
        gateway["depends_on"]["temporal-search-attributes"]["condition"] == "service_completed_successfully"
    )
