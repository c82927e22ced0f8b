"""Static checks of docker/: no Docker engine here, so check what the files reference."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from archive_center.cli import build_cli
from web.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
CENTERS = ("joss", "npl", "lmd")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile_instructions() if word == name]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instruction("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_dockerfile_base_user_and_copies_exist() -> None:
    assert instruction("FROM") == ["python:3.11-slim"]
    users = instruction("USER")
    assert users and users[-1] not in ("root", "0"), "the server must not run as root"
    for args in instruction("COPY"):
        *sources, _dest = shlex.split(args)
        for source in sources:
            # The compose file builds with the repository root as context.
            assert (REPO / source).exists(), f"Dockerfile copies missing {source}"


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    copied = {shlex.split(a)[0].rstrip("/") for a in instruction("COPY")}
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    packages = re.search(r"include = \[(.*?)\]", pyproject)
    assert packages is not None
    for name in re.findall(r'"(\w+)\*"', packages.group(1)):
        assert name in copied, f"package {name} is not copied into the image"


def test_dockerfile_cmd_is_a_real_cli_command() -> None:
    (cmd,) = instruction("CMD")
    argv = json.loads(cmd)
    assert argv[:2] == ["fieldcat", "serve"]
    result = CliRunner().invoke(build_cli(), [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output
    config = argv[argv.index("--config") + 1]
    for name in CENTERS:
        mounts = compose()["services"][name]["volumes"]
        assert any(m.split(":")[1] == config for m in mounts), f"{name} does not mount {config}"


def test_ports_agree_between_dockerfile_healthcheck_and_compose() -> None:
    env = dockerfile_env()
    port = env["FIELDCAT_PORT"]
    assert instruction("EXPOSE") == [port]
    (health,) = instruction("HEALTHCHECK")
    assert f"127.0.0.1:{port}/api/v1/healthz" in health
    host_ports = []
    for name in CENTERS:
        service = compose()["services"][name]
        (mapping,) = service["ports"]
        host, container = mapping.split(":")
        assert container == port
        host_ports.append(host)
        assert service["environment"]["FIELDCAT_PUBLIC_URL"].endswith(f":{host}")
        assert load_settings(DOCKER / f"{name}.toml").port == int(port)
    assert len(set(host_ports)) == len(CENTERS)


def test_env_names_are_settings_fields() -> None:
    fields = set(Settings.model_fields)
    names = set(dockerfile_env())
    for name in CENTERS:
        names |= set(compose()["services"][name]["environment"])
    for env_name in names - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}:
        if env_name.startswith("PIP_"):
            continue
        assert env_name.startswith("FIELDCAT_"), env_name
        field = env_name.removeprefix("FIELDCAT_").split("__")[0].lower()
        assert field in fields, f"{env_name} names no Settings field"


@pytest.mark.parametrize("name", CENTERS)
def test_each_center_has_its_own_healthy_postgres(name: str) -> None:
    services = compose()["services"]
    center = services[name]
    db_name = f"{name}-db"
    assert center["depends_on"][db_name]["condition"] == "service_healthy"
    db = services[db_name]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    url = center["environment"]["FIELDCAT_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and f"@{db_name}:5432/" in url
    user = db["environment"]["POSTGRES_USER"]
    assert f"//{user}:{db['environment']['POSTGRES_PASSWORD']}@" in url
    assert url.endswith("/" + db["environment"]["POSTGRES_DB"])
    declared = set(compose()["volumes"])
    for mount in center["volumes"] + db["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("."):
            assert (DOCKER / source).exists(), f"{name} mounts missing {source}"
        else:
            assert source in declared, f"volume {source} is not declared"


@pytest.mark.parametrize("name", CENTERS)
def test_center_configs_load_with_their_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = compose()["services"][name]
    build = service["build"]
    assert (DOCKER / build["context"] / build["dockerfile"]).is_file()
    for key, value in service["environment"].items():
        monkeypatch.setenv(key, value)
    settings = load_settings(DOCKER / f"{name}.toml")
    assert settings.center_code == name.upper()
    assert settings.database_url == service["environment"]["FIELDCAT_DATABASE_URL"]
    assert {p.code.lower() for p in settings.peers} == set(CENTERS) - {name}
    for peer in settings.peers:
        assert peer.url == f"http://{peer.code.lower()}:8000", "peers reach each other by service"


def test_example_config_loads() -> None:
    settings = load_settings(DOCKER / "center.example.toml")
    assert settings.center_code == "JOSS"
    assert settings.campaign.code == "INDOEX"
    assert settings.effective_database_url.startswith("sqlite:///")
