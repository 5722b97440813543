"""The networks the daemon configuration will load, for a dialog opened before any daemon runs.

No GIMP here. The configuration is the one every launcher reads (``impasto_wire.daemon_config``,
found through the file install.sh leaves beside the plug-in); a running daemon's ``welcome``
always wins over it.
"""

from __future__ import annotations

from dataclasses import dataclass

from impasto_wire import daemon_config

from . import daemon_link
from .i18n import _


@dataclass(frozen=True)
class Configured:
    """What the configuration promises: its models (None: no configuration) and a note for the
    dialog when the file cannot be used."""

    models: list[str] | None
    default: str | None
    note: str = ""


def read() -> Configured:
    try:
        cfg = daemon_config.load(daemon_link.config_path())
    except daemon_config.ConfigError as exc:
        return Configured(None, None, _("the daemon configuration is unusable: {error}").format(
            error=exc))
    if cfg is None:
        return Configured(None, None)
    return Configured(list(cfg.models), cfg.default_model)
