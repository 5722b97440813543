"""Is a daemon answering, and what does it run on? Asked exactly as the plug-in asks: hello."""

from __future__ import annotations

import os
import shutil

from impasto_wire import Client, DaemonUnavailable
from impasto_wire.endpoints import EndpointError, discover_endpoint
from impasto_wire.launcher import log_path, start_hint
from impasto_wire.protocol import PROTOCOL_VERSION

from . import result as R


def _describe(welcome: dict) -> str:
    models = ", ".join(f"{m.get('name')}: {m.get('label')}" for m in welcome.get("models", []))
    return (f"impasto-daemon {welcome.get('daemon_version')} (pid {welcome.get('pid', '?')}), "
            f"device {welcome.get('device')}, models {models or 'none'}")


def _start_hint(unit_installed: bool) -> str:
    hint = ("GIMP starts it on demand when you run the filter; to start it yourself: "
            f"{start_hint()} (foreground)")
    if unit_installed and shutil.which("systemctl"):
        hint = "systemctl --user start impasto-daemon; " + hint
    try:
        hint += f"; if it does not come up, read {log_path()}"
    except (OSError, EndpointError):
        pass
    return hint


def check_daemon(endpoint: str | None = None, timeout: float = 2.0,
                 unit_installed: bool = False,
                 configured_models: list[str] | None = None) -> R.Check:
    """Not running is a warning, not a failure: the plug-in starts the daemon on demand. A
    daemon that loads other networks than the configuration names (started before an edit,
    or by hand) is a warning too: clients are offered what it has, not what is configured."""
    try:
        endpoint = endpoint or discover_endpoint()
    except EndpointError as exc:
        return R.fail("daemon", f"no usable endpoint: {exc}",
                      "fix or unset IMPASTO_ENDPOINT" if os.environ.get("IMPASTO_ENDPOINT")
                      else "the line above says what to do")
    try:
        with Client(endpoint, timeout=timeout, name="impasto-doctor") as c:
            welcome = c.hello()
    except DaemonUnavailable as exc:
        if exc.kind != DaemonUnavailable.ABSENT:  # something is there: the client's diagnosis
            return R.fail("daemon", str(exc), "see the line above; the plug-in cannot start a "
                          "daemon there either")
        return R.warn("daemon", f"not running (nothing answers at {endpoint})",
                      _start_hint(unit_installed))
    what = f"reachable at {endpoint}: {_describe(welcome)}"
    if welcome.get("protocol") != PROTOCOL_VERSION:
        return R.fail("daemon", f"{what}; it speaks protocol {welcome.get('protocol')}, this "
                      f"installation {PROTOCOL_VERSION}",
                      "stop the old daemon (impasto stop) and let the new one start")
    running = [m.get("name") for m in welcome.get("models", [])]
    if configured_models is not None and running != list(configured_models):
        return R.warn("daemon", f"{what}; the configuration names {', '.join(configured_models)}",
                      "it was started otherwise or before the configuration changed: stop it "
                      "(impasto stop) and the next request starts it from the configuration")
    if any(m.get("random") for m in welcome.get("models", [])):
        return R.warn("daemon", what, "it runs RANDOM weights (a demo, no real style transfer): "
                      "get real weights (see the weights lines) and restart it (impasto stop; "
                      "it starts again from its configuration)")
    return R.ok("daemon", what)
