"""What ``install.sh`` recorded: its manifest, and the pointer to the daemon configuration it
writes beside the plug-in.

install.sh is the writer, these functions the reader, so the names and the line format live in
one place on the Python side (install.sh repeats them; tests/install checks they agree).

Manifest lines are tab-separated, ``KIND<TAB>PATH[<TAB>more]``:
  tree PATH           a folder install.sh made and removes whole (venv, plug-in folder)
  file PATH           a file it wrote (systemd unit)
  dir PATH            a folder it created; removed on uninstall only when empty
  kept PATH           something it fetched but leaves on uninstall (weights in torch's cache)
  profile DIR PY ROOT a GIMP profile it installed into, how to run that GIMP's Python (a
                      shell-quoted command) and the root GIMP runs in ("/" unless chrooted)
  setting KEY VALUE   an option the install was made with (venv, config: the daemon
                      configuration's path)
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

PLUGIN_NAME = "impasto-stylize"
CONFIG_NAME = "daemon-config"  # beside the plug-in script: the daemon configuration's path
VENDOR_DIR = "vendor"  # beside the plug-in script: zmq/msgpack wheels for GIMP's Python
WIRE_PACKAGE = "impasto_wire"
UNIT_NAME = "impasto-daemon.service"
MANIFEST_NAME = "install-manifest.txt"
FLATPAK_APP = "org.gimp.GIMP"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def default_manifest() -> Path:
    """Where install.sh keeps its manifest unless given --prefix."""
    return data_home() / "impasto" / MANIFEST_NAME


@dataclass(frozen=True)
class ProfileRecord:
    """A GIMP profile install.sh put the plug-in into, with how to reach that GIMP's Python."""

    path: Path
    python: tuple[str, ...]
    root: Path


@dataclass
class Manifest:
    path: Path
    exists: bool = False
    entries: list[tuple[str, str]] = field(default_factory=list)
    profiles: list[ProfileRecord] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)

    def paths(self, kind: str) -> list[str]:
        return [p for k, p in self.entries if k == kind]


def read_manifest(path: Path | None = None) -> Manifest:
    """Parse the manifest; a missing file gives an empty one (nothing installed by install.sh)."""
    path = path or default_manifest()
    m = Manifest(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return m
    m.exists = True
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or line.startswith("#"):
            continue
        kind = parts[0]
        if kind == "profile" and len(parts) >= 4:
            m.profiles.append(
                ProfileRecord(Path(parts[1]), tuple(shlex.split(parts[2])), Path(parts[3] or "/"))
            )
        elif kind == "setting" and len(parts) >= 3:
            m.settings[parts[1]] = parts[2]
        else:
            m.entries.append((kind, parts[1]))
    return m


def read_config_pointer(plugin_dir: Path) -> Path | None:
    """The daemon configuration install.sh named beside the plug-in (the plug-in starts the
    daemon from it), or None when absent, unreadable or empty (a Flatpak profile has none)."""
    try:
        text = (plugin_dir / CONFIG_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None
