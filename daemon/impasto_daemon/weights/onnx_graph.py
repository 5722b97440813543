"""Read the convolutions of an ONNX graph as plain OIHW arrays, in network order.

Only the `onnx` package is used (no runtime). Weight inputs are followed back through
Identity, Transpose and Cast nodes to their initialiser or Constant, so exports that keep
Keras' HWIO kernels behind a Transpose read the same as plain OIHW initialisers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .info import WeightsError


@dataclass(frozen=True)
class OnnxConv:
    """One convolution: its node name, OIHW weight and per-output-channel bias."""

    name: str
    weight: np.ndarray
    bias: np.ndarray


def read_convs(path: Path) -> list[OnnxConv]:
    """All Conv nodes of the graph, in graph order (ONNX requires topological order)."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise WeightsError(f"ONNX file not found: {path}") from None
    except Exception as exc:  # protobuf decode errors have no common base class
        raise WeightsError(f"cannot read {path} as an ONNX model: {exc}") from exc
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    resolver = _Resolver(consts, producers)
    convs = []
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        _check_conv_attributes(node)
        weight = resolver.value(node.input[1], node.name)
        if weight.ndim != 4:
            raise WeightsError(f"Conv {node.name!r}: weight has shape {weight.shape}, not 4-D")
        bias = _bias(node, weight.shape[0], resolver, consumers)
        convs.append(OnnxConv(node.name or node.output[0], weight, bias))
    return convs


class _Resolver:
    """Evaluates the constant chain feeding a Conv input (initialiser/Constant + reshuffles)."""

    def __init__(self, consts: dict[str, np.ndarray], producers: dict) -> None:
        self.consts = consts
        self.producers = producers

    def value(self, name: str, user: str) -> np.ndarray:
        if name in self.consts:
            return self.consts[name]
        node = self.producers.get(name)
        if node is None:
            raise WeightsError(f"Conv {user!r}: input {name!r} is not a constant")
        from onnx import helper, numpy_helper

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant" and "value" in attrs:
            return numpy_helper.to_array(attrs["value"])
        if node.op_type in ("Identity", "Cast"):
            return self.value(node.input[0], user)
        if node.op_type == "Transpose":
            src = self.value(node.input[0], user)
            return np.transpose(src, attrs.get("perm", list(range(src.ndim))[::-1]))
        raise WeightsError(
            f"Conv {user!r}: weight comes from a {node.op_type} node; only initialisers, "
            f"Constant, Identity, Cast and Transpose are understood"
        )

    def maybe(self, name: str) -> np.ndarray | None:
        try:
            return self.value(name, "")
        except WeightsError:
            return None


def _check_conv_attributes(node) -> None:
    """VGG convolutions are 3x3, stride 1, 'same' padding, ungrouped; refuse anything else."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    problems = []
    if list(attrs.get("strides", [1, 1])) != [1, 1]:
        problems.append(f"strides {attrs['strides']}")
    if list(attrs.get("dilations", [1, 1])) != [1, 1]:
        problems.append(f"dilations {attrs['dilations']}")
    if attrs.get("group", 1) != 1:
        problems.append(f"group {attrs['group']}")
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER") and list(attrs.get("pads", [0] * 4)) != [1] * 4:
        problems.append(f"pads {attrs.get('pads')} / auto_pad {auto_pad}")
    if problems:
        raise WeightsError(f"Conv {node.name!r} is not a VGG convolution: {', '.join(problems)}")


def _bias(node, channels: int, resolver: _Resolver, consumers: dict) -> np.ndarray:
    """The Conv's own bias input, else a following Add of a constant (tf2onnx may split them)."""
    if len(node.input) > 2 and node.input[2]:
        return resolver.value(node.input[2], node.name).reshape(-1)
    for user in consumers.get(node.output[0], []):
        if user.op_type != "Add":
            continue
        for name in user.input:
            value = resolver.maybe(name) if name != node.output[0] else None
            if value is not None and value.size == channels:
                return value.reshape(-1)
    return np.zeros(channels, dtype=np.float32)
