"""Where the VGG weights come from: torchvision's cache, a local file, an ONNX import, random.

Every source is checked against torchvision's architecture and says in a WeightsInfo what it
is, so nobody mistakes random or imported weights for torchvision's.
"""

from .fileformat import FORMAT, save_impasto_weights
from .info import WeightsError, WeightsInfo
from .loader import load_vgg_features
from .onnx_import import import_onnx_vgg
from .torchvision_source import cache_path, fetch_torchvision_weights, weights_url

__all__ = [
    "FORMAT",
    "WeightsError",
    "WeightsInfo",
    "cache_path",
    "fetch_torchvision_weights",
    "import_onnx_vgg",
    "load_vgg_features",
    "save_impasto_weights",
    "weights_url",
]
