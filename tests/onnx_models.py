"""Small ONNX files for the importer's tests: a plain VGG16 (random OIHW initialisers, so
``impasto import-onnx`` has something real to convert) and graphs broken the ways a hostile or
damaged file is (issue 19, item 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

VGG16_CONVS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


def _conv(helper, inputs: list[str], out: str):
    return helper.make_node("Conv", inputs, [out], kernel_shape=[3, 3], pads=[1, 1, 1, 1])


def _save(nodes, inits, path: Path, producer: str = "impasto-test") -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name=producer)
    onnx.save(model, str(path))
    return path


def plain_vgg16(path: Path, producer: str = "impasto-test") -> Path:
    """13 Conv nodes with OIHW weight and bias initialisers, as a VGG16 (features only)."""
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x, cin = [], [], "input", 3
    for i, cout in enumerate(VGG16_CONVS):
        w = (rng.standard_normal((cout, cin, 3, 3)) * 0.05).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"k{i}"),
                  numpy_helper.from_array(np.zeros(cout, np.float32), f"b{i}")]
        nodes.append(_conv(helper, [x, f"k{i}", f"b{i}"], f"c{i}"))
        x, cin = f"c{i}", cout
    return _save(nodes, inits, path, producer)


def identity_cycle(path: Path) -> Path:
    """A Conv whose weight comes from two Identity nodes feeding each other."""
    from onnx import helper

    nodes = [helper.make_node("Identity", ["w2"], ["w1"]),
             helper.make_node("Identity", ["w1"], ["w2"]),
             _conv(helper, ["input", "w1"], "out")]
    return _save(nodes, [], path)


def bad_transpose(path: Path) -> Path:
    """A Conv whose weight is a Transpose with a permutation that is not one (0, 0, 5, 1)."""
    from onnx import helper, numpy_helper

    w = np.zeros((3, 3, 3, 64), np.float32)
    nodes = [helper.make_node("Transpose", ["hwio"], ["w"], perm=[0, 0, 5, 1]),
             _conv(helper, ["input", "w"], "out")]
    return _save(nodes, [numpy_helper.from_array(w, "hwio")], path)


def huge_declared_dims(path: Path) -> Path:
    """A Conv weight initialiser that declares 2**20 x 2**20 x 3 x 3 floats and holds none."""
    from onnx import TensorProto, helper

    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**20, 2**20, 3, 3])
    return _save([_conv(helper, ["input", "w"], "out")], [tensor], path)


def pytorch_export(path: Path) -> Path:
    """A small graph as torch.onnx.export labels it (producer "pytorch"): nothing in its first
    bytes spells "onnx"."""
    from onnx import helper

    return _save([helper.make_node("Relu", ["input"], ["out"])], [], path, producer="pytorch")
