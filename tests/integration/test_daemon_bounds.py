"""One value must not stop the daemon (issue 19, item 9): every setting is bounded where it is
read (flags and the configuration file, from limits.DAEMON_SETTING_RANGES), and the serve loop
outlives a worker message it cannot deliver. Real daemon processes throughout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_support import DAEMON, small_job

from impasto_wire import Client, DaemonError, DaemonUnavailable

TOO_BIG = str(2**44)  # MiB: 2**64 bytes, one past what msgpack can send


def daemon_env(tmp_path: Path) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("IMPASTO_ENDPOINT", "IMPASTO_CONFIG")}
    env.update(XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(tmp_path / "config"))
    return env


def start_refused(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the daemon started (and served) with the out-of-range value")


def test_a_memory_budget_flag_beyond_its_range_is_refused_before_the_daemon_starts(tmp_path):
    run = start_refused([DAEMON, "--weights", "random", "--device", "cpu",
                         "--memory-budget-mb", TOO_BIG], daemon_env(tmp_path))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "memory_budget_mb must be between 0 and 16777216" in run.stderr
    assert "--memory-budget-mb" in run.stderr


def test_a_memory_budget_in_the_configuration_beyond_its_range_is_refused(tmp_path):
    config = tmp_path / "daemon.toml"
    config.write_text(f"[daemon]\nmemory_budget_mb = {TOO_BIG}\n")
    run = start_refused([DAEMON, "--config", str(config), "--weights", "random",
                         "--device", "cpu"], daemon_env(tmp_path))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert str(config) in line and "memory_budget_mb must be between 0 and 16777216" in line


GUARDED_DAEMON = """
import sys
from impasto_daemon.server.daemon import DaemonConfig, run_daemon
# a budget no msgpack integer holds: the result of the first job cannot be sent
sys.exit(run_daemon(DaemonConfig(endpoint=sys.argv[1], device="cpu", weights="random",
                                 memory_budget_bytes=2**64, announce=False)))
"""


def test_a_result_that_cannot_be_sent_fails_its_job_and_the_daemon_keeps_serving(tmp_path):
    endpoint = f"ipc://{tmp_path}/run/d.sock"
    log = open(tmp_path / "daemon.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", GUARDED_DAEMON, endpoint], stdout=log,
                            stderr=subprocess.STDOUT, env=daemon_env(tmp_path),
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
            try:
                with Client(endpoint, timeout=0.5) as c:
                    c.hello()
                break
            except DaemonUnavailable:
                assert time.monotonic() < deadline, "the daemon never answered"
                time.sleep(0.2)
        with Client(endpoint, timeout=20) as c:
            job = small_job(c, iterations=1)
            with pytest.raises(DaemonError) as err:
                c.wait(job)
            assert err.value.code == "internal" and "Overflow" in err.value.message
            assert proc.poll() is None, "the daemon died delivering a worker's message"
            assert c.status()["endpoint"] == endpoint  # still serving
            assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
