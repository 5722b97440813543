"""The INTERACTIVE dialog on a virtual X display (Xvfb): it opens with the last values, shows
the daemon's device and weights, OK runs the job and saves the values, Cancel changes nothing.

GIMP itself stays headless (gimp-console); only the plug-in's GimpUi dialog uses the display.
Skipped where Xvfb or xdotool is not installed (apt-get install xvfb xdotool).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pytest
from PIL import Image
from plugin_fixtures import pattern, trace_lines

TITLE = "Neural Style Transfer"
LAST_VALUES = "GimpProcedureConfigRun-plug-in-impasto-stylize.last"

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="needs Xvfb and xdotool for the dialog (apt-get install xvfb xdotool)",
)


@pytest.fixture(scope="module")
def display():
    """A private Xvfb on TCP (the GIMP root shares our network, not our /tmp)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-listen", "tcp", "-nolisten", "unix", "-ac",
         "-screen", "0", "1024x768x24"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        xvfb.kill()
        pytest.fail("Xvfb did not start")
    yield f"127.0.0.1:{number}"
    xvfb.kill()
    xvfb.wait()


def press_keys(display: str, keys: list[str], log: list[str]) -> threading.Thread:
    """In the background: for each key, wait for the dialog, focus it, press the key, and wait
    until it is gone."""
    env = {**os.environ, "DISPLAY": display}

    def windows() -> list[str]:
        r = subprocess.run(["xdotool", "search", "--name", TITLE], env=env,
                           capture_output=True, text=True)
        return r.stdout.split()

    def work() -> None:
        for key in keys:
            deadline = time.monotonic() + 60
            while not windows() and time.monotonic() < deadline:
                time.sleep(0.2)
            found = windows()
            if not found:
                log.append(f"no dialog for {key}")
                return
            time.sleep(0.7)  # let GTK finish mapping it
            subprocess.run(["xdotool", "windowfocus", "--sync", found[0]], env=env)
            subprocess.run(["xdotool", "key", key], env=env)
            log.append(key)
            while windows() and time.monotonic() < deadline:
                time.sleep(0.2)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t


def test_dialog_ok_runs_and_cancel_does_nothing(impasto, display):
    style = impasto.xchg / "dialog-style.png"
    Image.frombytes("RGBA", (32, 32), pattern(32, 32, seed=5)).save(style)
    settings = impasto.gimp.profile / "plug-in-settings"
    settings.mkdir(exist_ok=True)
    last = settings / LAST_VALUES
    last.write_text(f'# settings\n\n(style-file "file://{impasto.path(style)}")\n'
                    '(size 0)\n(iterations 2)\n(seed 7)\n\n# end of settings\n')
    pressed: list[str] = []
    try:
        keys = press_keys(display, ["Return", "Escape"], pressed)
        res = impasto.run("""
            img = Gimp.Image.new(40, 32, Gimp.ImageBaseType.RGB)
            src = make_layer(img, "Photo", 40, 32, pattern(40, 32, 3))
            ok = stylize(img, [src], run_mode=Gimp.RunMode.INTERACTIVE)
            cancel = stylize(img, [src], run_mode=Gimp.RunMode.INTERACTIVE)
            emit({"ok": ok, "cancel": cancel, "layers": [l.get_name() for l in img.get_layers()]})
            img.delete()
        """, env={"DISPLAY": display}, timeout=120)
        keys.join(10)
        saved = last.read_text()
    finally:
        last.unlink(missing_ok=True)
    (got,) = res.data
    assert pressed == ["Return", "Escape"], (pressed, res.log)
    assert got["ok"]["status"] == "success", (got, res.log)
    assert got["cancel"]["status"] == "cancel", (got, res.log)
    assert got["layers"] == ["Photo — dialog-style", "Photo"]  # only OK added a layer
    trace = trace_lines(res.log)
    assert "dialog: Daemon on cpu · VGG19: demo weights — not a real model" in trace, trace
    assert any("step 2/2" in t for t in trace)  # the dialog started from the last values
    # GIMP saved the values of the run that was OKed, for the next dialog and WITH_LAST_VALS
    assert "(iterations 2)" in saved and "(seed 7)" in saved and "dialog-style.png" in saved
