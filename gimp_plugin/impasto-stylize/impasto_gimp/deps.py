"""Make the plug-in's own dependencies importable, and say plainly which ones are missing.

GIMP drops a plug-in whose import fails without telling the user, so nothing here raises: the
procedure is always registered and a missing package becomes a message at run time.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from .i18n import _  # standard library only, like this module: usable before the check

#: the folder holding the plug-in script (``impasto_wire`` is installed beside it)
PLUGIN_DIR = Path(__file__).resolve().parents[1]
#: where an installer may unpack pyzmq/msgpack wheels matching GIMP's Python
VENDOR_DIR = PLUGIN_DIR / "vendor"
#: import name -> (distribution name, Debian package)
REQUIRED = {"zmq": ("pyzmq", "python3-zmq"), "msgpack": ("msgpack", "python3-msgpack")}


def extend_path() -> None:
    """Put the plug-in folder, its ``vendor/`` folder and (for a plug-in run straight from a
    checkout) the repository's ``shared/`` on ``sys.path``, without duplicates."""
    candidates = [VENDOR_DIR, PLUGIN_DIR]
    checkout_shared = PLUGIN_DIR.parents[1] / "shared"
    if (checkout_shared / "impasto_wire").is_dir() and not (PLUGIN_DIR / "impasto_wire").is_dir():
        candidates.append(checkout_shared)
    for folder in reversed(candidates):
        text = str(folder)
        if folder.is_dir() and text not in sys.path:
            sys.path.insert(0, text)


def missing_modules() -> list[str]:
    """Import names among ``REQUIRED`` (and ``impasto_wire``) that cannot be imported."""
    missing = []
    for name in (*REQUIRED, "impasto_wire"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def missing_message(missing: list[str]) -> str:
    """What the user reads when GIMP's Python lacks a dependency, with the command to fix it."""
    if "impasto_wire" in missing and not set(missing) & set(REQUIRED):
        return _("Impasto is installed incompletely: the folder 'impasto_wire' is missing next "
                 "to {script}. Run Impasto's install.sh again.").format(
            script=PLUGIN_DIR / "impasto-stylize.py")
    needed = [n for n in REQUIRED if n in missing]
    dists = " ".join(REQUIRED[n][0] for n in needed)
    debs = " ".join(REQUIRED[n][1] for n in needed)
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return _("Impasto needs the Python package(s) {modules} ({dists}) in GIMP's own Python "
             "{py}, and they are missing. On Debian/Ubuntu install them with: sudo apt install "
             "{debs} ; elsewhere put them next to the plug-in with: python{py} -m pip install "
             "--target \"{vendor}\" {dists} (or run Impasto's install.sh). Then restart GIMP."
             ).format(modules=", ".join(needed), dists=dists, py=py, debs=debs, vendor=VENDOR_DIR)
