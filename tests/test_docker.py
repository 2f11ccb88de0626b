"""The docker files (no engine here to build them): the properties we rely on are checked."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parent.parent / "docker"


def _instructions() -> list[tuple[str, str]]:
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    """The final stage switches to a non-root user and declares a HEALTHCHECK on `newsmon check`."""
    instructions = _instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    final = instructions[last_from:]
    users = [rest for word, rest in final if word == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    health = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert health
    assert '"newsmon", "check"' in health[0]
    assert ("ENTRYPOINT", '["newsmon"]') in final


def test_every_copied_path_exists() -> None:
    """Every path the Dockerfile copies from the build context exists in the repository."""
    root = DOCKER.parent
    for word, rest in _instructions():
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (root / source).exists(), source


def test_compose_runs_redis_with_aof_and_noeviction_and_both_roles() -> None:
    """Compose runs Redis with AOF and noeviction, one scheduler and workers, on one Redis URL."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    redis_cmd = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_cmd
    assert "--maxmemory-policy noeviction" in redis_cmd
    assert services["scheduler"]["command"] == ["scheduler"]
    assert services["worker"]["command"] == ["worker"]
    for role in ("scheduler", "worker"):
        assert services[role]["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert services[role]["depends_on"]["redis"]["condition"] == "service_healthy"
    # A warm stop takes up to scheduler.stop_timeout (25 s); docker must wait longer.
    assert int(services["worker"]["stop_grace_period"].rstrip("s")) > 30
