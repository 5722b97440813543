"""The plug-in's side of the conversation with the daemon, over ``impasto_wire``.

No GIMP here, so it can be exercised against a real daemon outside GIMP. Waiting is always done
in short slices (``next_event``) so the caller can keep GIMP's progress bar moving; every
failure leaves as ``messages.Failure`` with a sentence for the artist.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import zmq

from impasto_wire import (
    Client,
    DaemonError,
    DaemonUnavailable,
    Event,
    Style,
    ensure_daemon,
    launcher,
)
from impasto_wire.protocol import Image

from .i18n import _
from .messages import Failure, cannot_start, daemon_error, daemon_gone

CLIENT_NAME = "gimp-impasto-stylize"
#: a file beside the plug-in install.sh writes: the path of the daemon configuration (GIMP may
#: run with another HOME or XDG_CONFIG_HOME than the user who installed Impasto)
CONFIG_POINTER = Path(__file__).resolve().parents[1] / "daemon-config"
HELLO_TIMEOUT = 2.0
SUBMIT_TIMEOUT = 60.0  # the daemon checks every byte of a large request before accepting it
START_WAIT = 180.0  # a first start loads torch and the network; slow disks take a while


def config_path() -> Path | None:
    """The configuration install.sh named beside the plug-in, else None (the default one)."""
    try:
        text = CONFIG_POINTER.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None


def daemon_command() -> list[str] | None:
    """How the daemon is started: ``launcher.daemon_command``, the resolver every launcher
    uses, fed the configuration install.sh named. None lets the launcher explain what to
    configure when the start is attempted."""
    try:
        return launcher.daemon_command(config_path())
    except DaemonUnavailable:
        return None


def endpoint() -> str:
    try:
        return launcher.configured_endpoint(config_path())
    except Exception as exc:  # EndpointError, OSError: an unusable runtime folder
        raise Failure(_("Impasto cannot find where its daemon listens: {error}").format(
            error=exc)) from None


def peek(timeout: float = 0.7) -> dict[str, Any] | None:
    """The daemon's ``welcome`` if one answers right now (for the dialog), else None."""
    try:
        with Client(endpoint(), timeout=timeout, name=CLIENT_NAME) as c:
            return c.hello()
    except Exception:
        return None


def describe(welcome: dict[str, Any] | None) -> str:
    """One line for the dialog: device and weights in an artist's words, or that the daemon
    will be started. Where the weights came from goes to ``weights_tooltip``."""
    if welcome is None:
        return _("Daemon: not running — it will be started when you press OK.")
    parts = [weights_words(m) for m in welcome.get("models", ())]
    return _("Daemon on {device} · {networks}").format(
        device=welcome.get("device", "?"), networks="; ".join(parts) or _("no network"))


def weights_words(model: dict[str, Any]) -> str:
    """What a network's weights mean for the picture: a real ImageNet-trained network, other
    real weights from a file, or random weights that paint nothing real."""
    name = str(model.get("name", "?")).upper()
    if model.get("random"):
        return _("{network}: demo weights — not a real model").format(network=name)
    if "imagenet" in str(model.get("label", "")).lower():
        return _("ImageNet {network} — real weights").format(network=name)
    return _("{network} — weights from a file").format(network=name)


def weights_tooltip(welcome: dict[str, Any] | None) -> str:
    """Where each network's weights came from (the daemon's own label), for the tooltip."""
    if welcome is None:
        return ""
    return "\n".join(f"{str(m.get('name', '?')).upper()}: {m.get('label', '?')}"
                     for m in welcome.get("models", ()))


def any_demo(welcome: dict[str, Any] | None) -> bool:
    """True when some network runs on random weights (the dialog shows that line in bold)."""
    return welcome is not None and any(m.get("random") for m in welcome.get("models", ()))


class DaemonLink:
    """One run's connection: find or start the daemon, submit one job, follow it."""

    def __init__(self) -> None:
        self.endpoint = endpoint()
        self.client: Client | None = None
        self.welcome: dict[str, Any] = {}
        self.started = False
        self.job_id: str | None = None

    # --- connecting -----------------------------------------------------------------------------

    def connect(self, on_start: Callable[[], None], tick: Callable[[], None]) -> dict[str, Any]:
        """Say hello; if nobody answers, start the local daemon (calling ``on_start`` once and
        ``tick`` while waiting) and say hello again. Returns the ``welcome``."""
        try:
            self.client = Client(self.endpoint, timeout=HELLO_TIMEOUT, name=CLIENT_NAME)
        except zmq.ZMQError as exc:
            raise Failure(_("The daemon address {endpoint!r} is not usable ({error}). Check "
                            "the IMPASTO_ENDPOINT setting.").format(endpoint=self.endpoint,
                                                                    error=exc)) from None
        try:
            self.welcome = self.client.hello()
            return self.welcome
        except DaemonUnavailable:
            pass
        except DaemonError as exc:
            raise Failure(daemon_error(exc.code, exc.message, [])) from None
        on_start()
        self._start(tick)
        try:
            self.welcome = self.client.hello(timeout=10.0)
        except (DaemonUnavailable, DaemonError) as exc:
            raise Failure(cannot_start(
                _("it started but does not answer ({error})").format(error=exc))) from None
        return self.welcome

    def _start(self, tick: Callable[[], None]) -> None:
        """Run ``ensure_daemon`` in a thread so the caller's ``tick`` keeps the UI alive."""
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["started"] = ensure_daemon(self.endpoint, daemon_command(),
                                                   wait=START_WAIT, config_path=config_path())
            except Exception as exc:  # DaemonUnavailable, EndpointError, OSError
                outcome["error"] = exc

        thread = threading.Thread(target=work, name="impasto-start-daemon", daemon=True)
        thread.start()
        while thread.is_alive():
            tick()
            thread.join(0.2)
        if "error" in outcome:
            raise Failure(cannot_start(str(outcome["error"]).rstrip("."))) from None
        self.started = bool(outcome.get("started"))

    # --- what the daemon has --------------------------------------------------------------------

    def loaded_models(self) -> list[str]:
        return [m.get("name", "") for m in self.welcome.get("models", ())]

    def is_demo(self, model: str) -> bool:
        """True when ``model`` runs on random weights (tests and demos, not a real model)."""
        return any(m.get("name") == model and m.get("random")
                   for m in self.welcome.get("models", ()))

    @property
    def device(self) -> str:
        return str(self.welcome.get("device", "?"))

    @property
    def max_layers(self) -> int:
        return int(self.welcome.get("limits", {}).get("max_layers", 16))

    # --- the job --------------------------------------------------------------------------------

    def submit(self, contents: Sequence[tuple[Image, bytes]], styles: Sequence[Style],
               settings: dict[str, Any], style_names: list[str], preview: int = 0) -> str:
        """Queue the job; ``preview`` > 0 asks for preview frames (their long side in px)."""
        assert self.client is not None
        try:
            self.job_id = self.client.submit(contents, styles, settings, preview=preview,
                                             timeout=SUBMIT_TIMEOUT)
        except DaemonUnavailable as exc:
            raise Failure(_went_quiet(exc)) from None
        except DaemonError as exc:
            raise Failure(daemon_error(exc.code, exc.message, style_names)) from None
        return self.job_id

    def next_event(self, timeout: float) -> Event | None:
        """This job's next event within ``timeout`` s, else None (the daemon's death raises)."""
        assert self.client is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.client.poll(max(0.0, deadline - time.monotonic()))
            except DaemonUnavailable as exc:
                self.job_id = None
                raise Failure(_went_quiet(exc)) from None
            except DaemonError as exc:  # an unreadable reply
                raise Failure(daemon_error(exc.code, exc.message, [])) from None
            if ev is None or ev.job_id == self.job_id:
                return ev

    def cancel(self) -> None:
        """Ask the daemon to stop this job (best effort: closing also cancels it)."""
        if self.client is not None and self.job_id is not None:
            try:
                self.client.cancel(self.job_id, timeout=3.0)
            except Exception:
                pass
            self.job_id = None

    def close(self) -> None:
        """Leave; the daemon cancels a job we did not wait for (the ``bye`` message)."""
        if self.client is not None:
            self.client.close()
            self.client = None


def _went_quiet(exc: DaemonUnavailable) -> str:
    return daemon_gone(str(exc), lost_link=exc.kind == DaemonUnavailable.LOST)
