"""The plug-in's GIMP-free helpers, run in the project's venv (no GIMP needed): the settings
contract with the engine, progress text, the dialog's daemon line, and the
daemon link against the real daemon."""

from __future__ import annotations

import sys

import pytest
from plugin_fixtures import PLUGIN_SRC

sys.path.insert(0, str(PLUGIN_SRC))
from impasto_gimp import daemon_link, messages, options, progress  # noqa: E402

from impasto_wire import Style  # noqa: E402
from impasto_wire.progress import ProgressEvent  # noqa: E402
from impasto_wire.protocol import Image, MessageType  # noqa: E402


def test_settings_are_what_the_engine_accepts():
    from impasto_wire.style_settings import StyleSettings

    opts = options.Options(strength=85, size=0, iterations=7, model="vgg16", pooling="max",
                           preserve_colors=True, seed=42)
    opts.validate()
    s = StyleSettings.from_dict(opts.wire_settings())
    assert (s.model, s.pooling, s.size, s.iterations, s.preserve_colors, s.seed) == (
        "vgg16", "max", None, 7, True, 42)
    # the strength goes to the engine as it is: the engine chooses the style weight for it
    assert (s.strength, s.style_weight) == (85, None)
    ours = StyleSettings.from_dict(options.Options().wire_settings())
    assert ours.strength == StyleSettings().strength  # the dialog starts at the default
    assert ours.iterations == StyleSettings().iterations  # same default as the engine


@pytest.mark.parametrize("bad, words", [
    (dict(size=8), "Size must be 0 .* between 32 and 16384 pixels, not 8"),
    (dict(iterations=0), "Iterations must be between 1 and 10000, not 0 .*300 is the usual"),
])
def test_what_a_declared_range_cannot_say_is_named_like_in_the_dialog(bad, words):
    """GIMP keeps every argument in its declared range and choices; validate refuses only what
    a range cannot express (size 1..31, iterations 0)."""
    with pytest.raises(options.OptionsError, match=words):
        options.Options(**bad).validate()
    options.Options(size=0).validate()
    options.Options(size=options.SIZE_MIN, iterations=options.ITERATIONS_MIN).validate()


def test_the_plug_in_takes_its_choices_ranges_and_defaults_from_the_engines_settings():
    from impasto_daemon import settings as daemon_settings
    from impasto_wire import style_settings

    assert daemon_settings.StyleSettings is style_settings.StyleSettings  # one definition
    engine = style_settings.StyleSettings()
    assert options.model_names() == [m for m, _, _ in options.MODELS] == list(
        style_settings.MODELS)
    assert [p for p, _, _ in options.POOLINGS] == list(style_settings.POOLINGS)
    assert (options.SIZE_MIN, options.SIZE_MAX) == (style_settings.MIN_PROCESS_SIZE,
                                                   style_settings.MAX_PROCESS_SIZE)
    sent = style_settings.StyleSettings.from_dict(options.Options().wire_settings())
    assert sent == engine  # the dialog's defaults are exactly the engine's


def test_blend_weights():
    assert options.Options(style2_weight=30).style_weights(1) == [1.0]
    assert options.Options(style2_weight=30).style_weights(2) == pytest.approx([0.7, 0.3])


def test_progress_moves_forward_and_says_where_it_is():
    names = ["Sky", "Sea"]
    events = [ProgressEvent(stage="queued", layer=0, layers=2, position=1),
              ProgressEvent(stage="starting", layer=0, layers=2)]
    for f in (0.1, 0.4, 0.7, 1.0):
        events.append(ProgressEvent(stage="optimising", layer=int(f > 0.5), layers=2, scale=2,
                                    scales=2, step=5, steps=10, fraction=f))
    fractions = [progress.fraction(e) for e in events]
    assert fractions == [0, 0, 0.1, 0.4, 0.7, 1.0]  # the daemon's measured share, as sent
    assert progress.text(events[0], names) == "Waiting for the daemon (1 job(s) ahead)…"
    line = progress.text(ProgressEvent(stage="optimising", layer=1, layers=2, scale=2, scales=2,
                                       step=5, steps=10, fraction=0.8, eta=130.0), names,
                         demo=True)
    assert line == ("80 % · [demo weights — not a real model] "
                    "Painting 'Sea' (2 of 2): scale 2/2, step 5/10, eta 2m10s")


def test_progress_line_names_a_coarse_scales_cap_and_says_it_is_estimating():
    """Issue 22 item 3: GIMP's line said "step 40/450" on a coarse scale when the user set 300
    iterations, and nothing at all while the daemon withholds its estimate. The number shown and
    the English words are impasto_wire's, the same as the CLI's."""
    from impasto_wire.progress import eta_text, step_text

    coarse = ProgressEvent(stage="optimising", fraction=0.2, scale=1, scales=2, step=40,
                           steps=450)
    finest = ProgressEvent(stage="optimising", fraction=0.6, scale=2, scales=2, step=40,
                           steps=300, eta=130.0)
    assert progress.text(coarse, ["Sky"]) == (
        "20 % · Painting 'Sky': scale 1/2, step 40 (at most 450), estimating…")
    assert progress.text(finest, ["Sky"]) == (
        "60 % · Painting 'Sky': scale 2/2, step 40/300, eta 2m10s")
    for event in (coarse, finest):
        assert progress.step(event) == step_text(event)
        assert progress.eta(event.eta) == eta_text(event.eta)


def test_dialog_line_labels_random_weights(daemon):
    with daemon.client() as c:
        welcome = c.hello()
    line = daemon_link.describe(welcome)
    assert line.startswith("Daemon on cpu") and "demo weights — not a real model" in line
    assert "started when you press OK" in daemon_link.describe(None)


def test_daemon_link_runs_a_job(daemon, monkeypatch):
    monkeypatch.setenv("IMPASTO_ENDPOINT", daemon.endpoint)
    link = daemon_link.DaemonLink()
    try:
        link.connect(on_start=lambda: pytest.fail("a running daemon must not be started"),
                     tick=lambda: None)
        assert link.loaded_models() == ["vgg19"] and link.is_demo("vgg19")
        content = (bytes(range(256)) * 8)[: 24 * 20 * 4]
        style = Style.raw(16, 16, 4, bytes(16 * 16 * 4))
        link.submit([(Image(24, 20, 4), content)], [style],
                    options.Options(size=0, iterations=2).wire_settings(), ["black"])
        seen = []
        while True:
            ev = link.next_event(1.0)
            if ev is None:
                continue
            seen.append(ev.type)
            if ev.terminal:
                break
        assert ev.type is MessageType.RESULT, ev.header
        ((desc, frame),) = ev.images()
        assert (desc.width, desc.height, desc.channels, len(frame)) == (24, 20, 4, 24 * 20 * 4)
        assert MessageType.PROGRESS in seen
    finally:
        link.close()


def test_error_messages_say_what_to_do():
    assert "Lower 'Size'" in messages.daemon_error("oom", "CUDA out of memory", ["a"])
    assert "'wave'" in messages.daemon_error("bad_image", "cannot identify", ["wave"])
    assert "install.sh" in messages.cannot_start("the daemon exited with status 4 (weights)")


def test_a_lost_link_is_not_called_a_crashed_daemon(daemon, monkeypatch):
    """A TCP link that went quiet (``DaemonUnavailable.LOST``) says the connection was lost and
    the daemon may still run; only a daemon known to be gone is called stopped."""
    from impasto_wire.client_errors import DaemonUnavailable

    monkeypatch.setenv("IMPASTO_ENDPOINT", daemon.endpoint)
    link = daemon_link.DaemonLink()
    try:
        link.connect(on_start=lambda: None, tick=lambda: None)
        told = {}
        for kind in (DaemonUnavailable.LOST, DaemonUnavailable.GONE):
            def silent(timeout, kind=kind):
                raise DaemonUnavailable("nothing heard for 30.0 s", kind)
            monkeypatch.setattr(link.client, "poll", silent)
            with pytest.raises(messages.Failure) as failed:
                link.next_event(0.1)
            told[kind] = str(failed.value)
    finally:
        link.close()
    assert "connection to the Impasto daemon was lost" in told[DaemonUnavailable.LOST]
    assert "crashed" not in told[DaemonUnavailable.LOST]
    assert "stopped answering" in told[DaemonUnavailable.GONE]
    assert all("nothing heard for 30.0 s" in text for text in told.values())


def test_daemon_command_comes_from_the_configuration_install_sh_named(tmp_path, monkeypatch):
    """GIMP may run with another HOME than the installer's, so install.sh names the daemon
    configuration in a file beside the plug-in; the command is the launcher's own resolver fed
    that file (IMPASTO_DAEMON still wins; without any file, impasto-daemon on PATH)."""
    from impasto_wire import daemon_config, launcher

    monkeypatch.delenv("IMPASTO_DAEMON", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(launcher, "find_program", lambda: None)
    monkeypatch.setattr(daemon_link, "CONFIG_POINTER", tmp_path / "daemon-config")
    assert daemon_link.daemon_command() is None  # the launcher then explains what to set
    cfg = tmp_path / "daemon.toml"
    cfg.write_text(daemon_config.render(daemon_config.ConfigFile(
        program="/opt/impasto/bin/impasto-daemon", models=["vgg16"])))
    (tmp_path / "daemon-config").write_text(f"{cfg}\n")
    assert daemon_link.daemon_command() == ["/opt/impasto/bin/impasto-daemon", "--config",
                                            str(cfg)]
    assert daemon_link.daemon_command() == launcher.daemon_command(cfg)
    monkeypatch.setenv("IMPASTO_DAEMON", "/x/impasto-daemon --weights random")
    assert daemon_link.daemon_command() == ["/x/impasto-daemon", "--weights", "random"]


def test_missing_dependency_messages():
    from impasto_gimp import deps

    both = deps.missing_message(["zmq", "msgpack", "impasto_wire"])
    assert "zmq, msgpack" in both and "python3-zmq python3-msgpack" in both
    assert "pip install --target" in both and str(deps.VENDOR_DIR) in both
    only_wire = deps.missing_message(["impasto_wire"])
    assert "'impasto_wire' is missing" in only_wire and "install.sh" in only_wire
