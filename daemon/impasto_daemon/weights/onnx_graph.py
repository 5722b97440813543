"""Read the convolutions of an ONNX graph as plain OIHW arrays, in network order.

Only the `onnx` package is used (no runtime). Weight inputs are followed back through
Identity, Transpose and Cast nodes to their initialiser or Constant, so exports that keep
Keras' HWIO kernels behind a Transpose read the same as plain OIHW initialisers.

A file is data from anywhere, so nothing in it is trusted: a tensor is converted only when a
Conv needs it and only when the data it holds matches the size it declares (a few bytes can
declare terabytes); a chain that loops or a permutation that is not one is a WeightsError.
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

    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise WeightsError(f"ONNX file not found: {path}") from None
    except Exception as exc:  # protobuf decode errors have no common base class
        raise WeightsError(f"cannot read {path} as an ONNX model: {exc}") from exc
    graph = model.graph
    consts = {t.name: t for t in graph.initializer}
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
        if len(node.input) < 2:
            raise WeightsError(f"Conv {node.name or node.output[0]!r} has no weight input")
        weight = resolver.value(node.input[1], node.name or node.output[0])
        if weight.ndim != 4:
            raise WeightsError(f"Conv {node.name!r}: weight has shape {weight.shape}, not 4-D")
        bias = _bias(node, weight.shape[0], resolver, consumers)
        convs.append(OnnxConv(node.name or node.output[0], weight, bias))
    return convs


#: the most elements one tensor may hold: VGG's largest layer (the first fully-connected one,
#: 25088 x 4096) with room to spare; a larger claim is a damaged or hostile file
MAX_TENSOR_ELEMENTS = 1 << 28


def _tensor(proto, user: str) -> np.ndarray:
    """A TensorProto as an array, refusing one whose data does not match its declared size."""
    from onnx import helper, numpy_helper

    dims = list(proto.dims)
    count = 1
    for d in dims:
        if d < 0:
            raise WeightsError(f"Conv {user!r}: tensor {proto.name!r} declares a negative "
                               f"dimension {dims}")
        count *= d
    if count > MAX_TENSOR_ELEMENTS:
        raise WeightsError(f"Conv {user!r}: tensor {proto.name!r} declares shape {dims} "
                           f"({count} values), more than any VGG layer; a damaged file?")
    try:
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(proto.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        itemsize = 0
    if proto.data_location == 1:  # EXTERNAL: data in another file, which we never follow
        raise WeightsError(f"Conv {user!r}: tensor {proto.name!r} keeps its data in an "
                           "external file; save the model with its weights inside")
    if proto.HasField("raw_data") and itemsize and len(proto.raw_data) != count * itemsize:
        raise WeightsError(f"Conv {user!r}: tensor {proto.name!r} declares shape {dims} but "
                           f"holds {len(proto.raw_data)} bytes of data (truncated or damaged)")
    try:
        return numpy_helper.to_array(proto)
    except (ValueError, TypeError) as exc:
        raise WeightsError(f"Conv {user!r}: tensor {proto.name!r} declares shape {dims} but "
                           f"its data does not fit it ({exc})") from None


class _Resolver:
    """Evaluates the constant chain feeding a Conv input (initialiser/Constant + reshuffles)."""

    def __init__(self, consts: dict, producers: dict) -> None:
        self.consts = consts  # name -> TensorProto, converted when a Conv asks
        self.producers = producers

    def value(self, name: str, user: str, seen: frozenset[str] = frozenset()) -> np.ndarray:
        if name in self.consts:
            return _tensor(self.consts[name], user)
        if name in seen:
            raise WeightsError(f"Conv {user!r}: the nodes that make its input {name!r} feed "
                               "each other in a loop; not a valid graph")
        node = self.producers.get(name)
        if node is None:
            raise WeightsError(f"Conv {user!r}: input {name!r} is not a constant")
        from onnx import helper

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant" and "value" in attrs:
            return _tensor(attrs["value"], user)
        if not node.input:
            raise WeightsError(f"Conv {user!r}: the {node.op_type} node making {name!r} has "
                               "no input")
        if node.op_type in ("Identity", "Cast"):
            return self.value(node.input[0], user, seen | {name})
        if node.op_type == "Transpose":
            src = self.value(node.input[0], user, seen | {name})
            perm = [int(p) for p in attrs.get("perm", list(range(src.ndim))[::-1])]
            if sorted(perm) != list(range(src.ndim)):
                raise WeightsError(f"Conv {user!r}: Transpose {node.name!r} has permutation "
                                   f"{perm}, which does not reorder a {src.ndim}-D tensor")
            return np.transpose(src, perm)
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
        return resolver.value(node.input[2], node.name or node.output[0]).reshape(-1)
    for user in consumers.get(node.output[0], []):
        if user.op_type != "Add":
            continue
        for name in user.input:
            value = resolver.maybe(name) if name != node.output[0] else None
            if value is not None and value.size == channels:
                return value.reshape(-1)
    return np.zeros(channels, dtype=np.float32)
