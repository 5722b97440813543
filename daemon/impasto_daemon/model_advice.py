"""What to tell someone who asks for a network the daemon has not loaded: how to get it loaded
on this machine.

The daemon loads the models its configuration lists, and each needs real weights first. Where
torchvision's download server cannot be reached there are no VGG19 weights until a file is
given, so the old advice ("start it with --model vgg16,vgg19") only led to exit 4 (weights
missing). The advice names the commands of this installation (``weights.commands``), the
configuration file and docs/CONFIG.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def _shown(path: Path) -> str:
    """``path`` with the home folder written as ``~`` (as the docs write it)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def model_not_loaded(model: str, loaded: Iterable[str]) -> str:
    """One paragraph: which models are loaded, and the two ways to add ``model`` here."""
    from impasto_wire import daemon_config

    from .weights.commands import impasto_command  # the weights package loads torch: not at import

    have = sorted(loaded)
    config = _shown(daemon_config.default_path())
    name = model.upper()
    convert = impasto_command("import-onnx", "MODEL.onnx", "-o", f"{model}.pth", "--model", model)
    return (
        f"model {model} is not loaded by this daemon (loaded: {', '.join(have) or 'none'}); "
        f"choose {' or '.join(f'--model {m}' for m in have) or 'a loaded model'}, or give the "
        f"daemon {name} weights: `{impasto_command('fetch-weights', model)}` downloads "
        f"torchvision's file (needs download.pytorch.org) and adds {model} to the daemon "
        f"configuration; without that server, convert an ONNX {name} with `{convert}` and name "
        f"it in the configuration ({config}: {model} in models, {model} = \"/path/{model}.pth\" "
        f"under [weights]; docs/CONFIG.md). Then restart the daemon "
        f"(`{impasto_command('stop')}`; the next job starts it with the new configuration)."
    )
