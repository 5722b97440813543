"""The smaller items of issue 19 (item 15): a refused memory budget names one that is enough
(rounded up, not down), an ipc endpoint in the abstract namespace leaves no lock file in the
working folder, ``-o`` naming a folder says so, and the doctor advises unsetting
IMPASTO_ENDPOINT only when it is set."""

from __future__ import annotations

import re

import pytest
import torch

from impasto_daemon.engine import BudgetTooSmall, StyleSettings
from impasto_daemon.engine.planning.plan import plan_job

MiB = 2**20


@pytest.mark.parametrize("model", ["vgg19", "vgg16"])
@pytest.mark.parametrize("shape", [(20, 24), (64, 64), (300, 400)])
def test_the_budget_a_refusal_asks_for_is_accepted(model, shape):
    settings = StyleSettings(model=model, size=None, optimizer="adam", iterations=10)
    with pytest.raises(BudgetTooSmall) as err:
        plan_job([shape], settings, MiB, torch.device("cpu"), [(40, 40)])
    asked = int(re.search(r"allow at least (\d+) MiB", str(err.value)).group(1))
    # "allow at least N MiB" must mean that N MiB is allowed
    plan_job([shape], settings, asked * MiB, torch.device("cpu"), [(40, 40)])


def test_an_abstract_ipc_endpoint_is_refused_in_one_line_leaving_no_lock_file(tmp_path):
    """Linux's abstract sockets have no permissions (any local user could connect as the
    daemon's own); the daemon once made a lock file named after one in its working folder,
    then failed to chmod the socket."""
    import os
    import secrets
    import subprocess
    import sys

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "impasto-daemon"), "--endpoint",
         f"ipc://@impasto-test-{secrets.token_hex(6)}", "--weights", "random", "--device", "cpu",
         "--no-announce"], cwd=cwd, env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)),
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert "abstract namespace" in line
    assert os.listdir(cwd) == []


def test_an_output_naming_a_folder_is_called_a_folder(tmp_path):
    from impasto_daemon.cli.image_io import ImageFileError, check_writable

    with pytest.raises(ImageFileError) as err:
        check_writable(tmp_path)
    assert "is a folder" in str(err.value) and "suffix-less" not in str(err.value)


@pytest.mark.parametrize("endpoint_set", [False, True])
def test_the_doctor_advises_unsetting_the_endpoint_only_when_it_is_set(
        tmp_path, monkeypatch, endpoint_set):
    from impasto_daemon.doctor.daemon_check import check_daemon

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    planted = tmp_path / "impasto"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # writable by others: no usable default endpoint
    if endpoint_set:  # the set endpoint is what is unusable (whatever the check finds wrong)
        from impasto_wire.endpoints import EndpointError

        def unusable() -> str:
            raise EndpointError("endpoint 'bogus://x' must start with ipc:// or tcp://")

        monkeypatch.setenv("IMPASTO_ENDPOINT", "bogus://x")
        monkeypatch.setattr("impasto_daemon.doctor.daemon_check.discover_endpoint", unusable)
    else:
        monkeypatch.delenv("IMPASTO_ENDPOINT", raising=False)
    check = check_daemon()
    text = " ".join(str(v) for v in vars(check).values())
    assert ("unset IMPASTO_ENDPOINT" in text) == endpoint_set, text
