"""The shapes of weight files we accept, and our own "impasto-vgg/1" format that we write.

Accepted on load (all read with `torch.load(..., weights_only=True)`, never plain pickle):
  * torchvision's full VGG state dict ("features.0.weight", ..., classifier keys ignored);
  * a features-only state dict ("0.weight", "0.bias", ...);
  * our format: {"format": "impasto-vgg/1", "model": "vgg16", "features": {...},
    "provenance": "..."}, written by the ONNX importer.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from impasto_wire import safe_files

from .architecture import MODELS, feature_shapes
from .info import WeightsError

FORMAT = "impasto-vgg/1"


@dataclass(frozen=True)
class FileContents:
    """A weight file reduced to what every consumer needs."""

    features: dict[str, torch.Tensor]
    model: str | None  # declared by our format; None for plain state dicts
    provenance: str | None


def save_impasto_weights(
    path: Path, model: str, features: Mapping[str, torch.Tensor], provenance: str,
    force: bool = False,
) -> None:
    """Write features in our format through ``impasto_wire.safe_files``: atomically, so a crash
    never leaves half a file behind, under a random temporary name, so a symlink planted at a
    predictable one cannot redirect the write (issue 19, item 2)."""
    payload = {
        "format": FORMAT,
        "model": model,
        "features": {k: v.detach().to(torch.float32).contiguous() for k, v in features.items()},
        "provenance": provenance,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_files.write_file(path, lambda f: torch.save(payload, f), force=force)


GOOD_FILE = (
    "a good one is torchvision's vgg19-dcbb9e9d.pth or vgg16-397923af.pth (a PyTorch zip "
    "archive of about 550 MB; `impasto fetch-weights` gets them), a VGG state dict saved with "
    "torch.save(model.state_dict(), PATH), or the output of "
    "`impasto import-onnx MODEL.onnx -o vgg16.pth`"
)


def read_weights_file(path: Path) -> FileContents:
    """Load a weight file safely and reduce any accepted layout to a features dict.

    What the file *is* is told from its first bytes before torch sees it, so the message says
    "empty", "a text file" or "truncated" instead of torch's internals. Torch's own advice for
    pickles (retry with weights_only=False, i.e. run the file's code) is never repeated.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(512)
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except OSError as exc:
        raise WeightsError(f"cannot open weights file {path}: {exc.strerror or exc}") from None
    kind = _not_a_torch_file(head, size)
    if kind is not None:
        raise WeightsError(f"{path} is {kind}, not a PyTorch weights file; {GOOD_FILE}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or unsafe files
        raise WeightsError(f"{path} ({size} bytes) {_load_failure(exc)}; {GOOD_FILE}") from None
    return _normalise(obj, path)


_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = 0x80  # torch's legacy (pre-1.6) format starts with a pickle


def _not_a_torch_file(head: bytes, size: int) -> str | None:
    """What the first bytes show the file to be, when that is plainly not a torch file."""
    if size == 0:
        return "empty (0 bytes)"
    if head.startswith(_ZIP_MAGIC) or head[:1] == bytes([_PICKLE_PROTO]):
        return None
    if _looks_like_onnx(head):
        return "an ONNX model (convert it: impasto import-onnx MODEL.onnx -o vgg16.pth)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        first = text.strip().splitlines()[0][:60] if text.strip() else ""
        html = "<html" in text.lower() or "<!doctype" in text.lower()
        what = "an HTML page (a failed download?)" if html else "a text file"
        return f"{what} of {size} bytes beginning {first!r}"
    return f"an unknown binary file of {size} bytes (beginning {head[:8].hex(' ')})"


#: the tags of ModelProto's fields 2-8 (producer_name .. opset_import) that can follow its first,
#: ir_version: whatever wrote the file (tf2onnx, PyTorch, Keras) starts it this way
_ONNX_SECOND_FIELD = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42}


def _looks_like_onnx(head: bytes) -> bool:
    """An ONNX ModelProto begins with ir_version (field 1, a small varint) and another of its
    fields; the producer's name (PyTorch writes "pytorch") says nothing dependable."""
    return (len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 32
            and head[2] in _ONNX_SECOND_FIELD)


def _load_failure(exc: BaseException) -> str:
    """torch.load's failure in words, never echoing its advice to load with weights_only=False."""
    if isinstance(exc, pickle.UnpicklingError):
        return ("holds Python objects besides tensors (a pickled model or training checkpoint); "
                "Impasto reads only plain tensors and never runs code from a file, so save just "
                "the state dict")
    if isinstance(exc, EOFError):
        return "ends too early: it is truncated (an interrupted download or copy?)"
    if isinstance(exc, RuntimeError) and "zip archive" in str(exc):
        return "is a damaged or truncated PyTorch archive (an interrupted download or copy?)"
    text = str(exc).splitlines()[0] if str(exc).strip() else ""
    if not text or "weights_only" in text:
        return f"cannot be read as PyTorch weights ({type(exc).__name__})"
    return f"cannot be read as PyTorch weights ({type(exc).__name__}: {text[:120]})"


def guess_model(features: Mapping[str, object]) -> str | None:
    """Which VGG a features dict fits by its key set, so errors can name the right model."""
    for model in MODELS:
        if set(features) == set(feature_shapes(model)):
            return model
    return None


def _normalise(obj: object, path: Path) -> FileContents:
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict")
    if "format" in obj:
        return _ours(obj, path)
    if any(isinstance(k, str) and k.startswith("features.") for k in obj):
        features = {
            k[len("features.") :]: v
            for k, v in obj.items()
            if isinstance(k, str) and k.startswith("features.")
        }
        return FileContents(_tensors(features, path), None, None)
    return FileContents(_tensors(obj, path), None, None)


def _ours(obj: Mapping, path: Path) -> FileContents:
    if obj.get("format") != FORMAT:
        raise WeightsError(
            f"{path} has format {obj.get('format')!r}; this version reads {FORMAT!r} only"
        )
    model = obj.get("model")
    features = obj.get("features")
    if model not in MODELS or not isinstance(features, Mapping):
        raise WeightsError(f"{path}: {FORMAT} file without a valid 'model' or 'features' entry")
    provenance = obj.get("provenance")
    return FileContents(_tensors(features, path), model, str(provenance) if provenance else None)


def _tensors(state: Mapping, path: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise WeightsError(f"{path}: entry {key!r} is not a named tensor")
        if not value.is_floating_point():
            raise WeightsError(f"{path}: {key} has dtype {value.dtype}, not a float type")
        out[key] = value.detach().to(torch.float32).contiguous()
    return out
