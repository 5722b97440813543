"""Is the daemon configuration readable, and does the program it names exist?

The weights it names are loaded by the weights checks; this check says which file is in
charge and the command line every launcher runs from it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from impasto_wire import DaemonUnavailable, daemon_config, launcher

from . import result as R

NAME = "configuration"


def load_config(path: Path) -> daemon_config.ConfigFile | None:
    """The configuration, or None when absent or unreadable (check_config reports why)."""
    try:
        return daemon_config.load(path)
    except daemon_config.ConfigError:
        return None


def check_config(path: Path) -> R.Check:
    try:
        cfg = daemon_config.load(path)
    except daemon_config.ConfigError as exc:
        return R.fail(NAME, str(exc), f"correct it (docs/CONFIG.md), or run ./install.sh again "
                      f"after moving it away: mv {shlex.quote(str(path))} "
                      f"{shlex.quote(str(path) + '.bak')}")
    try:
        command = launcher.daemon_command(path)
    except DaemonUnavailable as exc:
        return R.fail(NAME, str(exc), "run ./install.sh again")
    shown = shlex.join(command)
    if cfg is None:
        return R.warn(NAME, f"no {path}: the daemon starts with its defaults ({shown})",
                      "run ./install.sh (it writes the configuration), or write it by hand "
                      "(docs/CONFIG.md)")
    program = command[0]
    if not (Path(program).is_file() and os.access(program, os.X_OK)):
        return R.fail(NAME, f"{path} names {program}, which is not an executable program",
                      "run ./install.sh again, or correct daemon.program")
    models = ", ".join(f"{m} ({cfg.weights_for(m)})" for m in cfg.models)
    return R.ok(NAME, f"{path}: models {models}; device {cfg.device}; the daemon starts as "
                      f"{shown}")
