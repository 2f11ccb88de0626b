"""contrib/newsmon.service: a unit systemd accepts, with the stop and reload behaviour we rely on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from newsmon.settings.model import SchedulerSettings

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "newsmon.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text("utf-8"))
    return parser


def _seconds(value: str) -> float:
    units = {"s": 1, "min": 60, "m": 60}
    for suffix, factor in units.items():
        if value.endswith(suffix) and value[: -len(suffix)].isdigit():
            return float(value[: -len(suffix)]) * factor
    return float(value)


def test_unit_runs_newsmon_with_a_warm_stop_a_reload_and_a_restart_back_off() -> None:
    """The unit starts ``newsmon run`` as a dedicated user with its state in /var/lib/newsmon,
    stops it with SIGTERM, reloads with SIGHUP, restarts on failure with a back-off, and gives
    a warm stop more time than ``scheduler.stop_timeout``."""
    service = _unit()["Service"]
    assert service["Type"] in ("simple", "notify")
    program, *arguments = service["ExecStart"].split()
    assert Path(program).name == "newsmon"
    assert arguments == ["run"]
    assert service["KillSignal"] == "SIGTERM"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert _seconds(service["RestartSec"]) > 0
    assert int(_unit()["Unit"]["StartLimitBurst"]) > 1
    assert _seconds(service["TimeoutStopSec"]) > SchedulerSettings().stop_timeout.total_seconds()
    assert service["User"] not in ("root", "")
    assert service["StateDirectory"] == "newsmon"
    # Environment= may repeat, which configparser folds into its last value: read the lines.
    environment = [line.split("=", 1)[1] for line in UNIT.read_text("utf-8").splitlines()
                   if line.startswith("Environment=")]
    assert "NEWSMON_DATA_DIR=/var/lib/newsmon" in environment


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` finds nothing wrong with the unit (its ExecStart pointed at a
    stand-in executable, since newsmon is not installed at /usr/local/bin here)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    stand_in = tmp_path / "newsmon"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    unit = tmp_path / "newsmon.service"
    unit.write_text(UNIT.read_text("utf-8").replace("/usr/local/bin/newsmon", str(stand_in)), "utf-8")
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60,
                            check=False)
    problems = [line for line in result.stderr.splitlines() if "newsmon.service" in line]
    assert result.returncode == 0, result.stderr
    assert not problems, result.stderr
