"""The VGG feature extractor: names, pooling, truncation, frozen parameters."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from impasto_daemon.engine.vgg import MARGIN, STYLE_LAYERS, VGGFeatures, layer_names, margin_for
from impasto_daemon.weights import load_vgg_features


@pytest.fixture(scope="module")
def states():
    return {m: load_vgg_features(m, "random", seed=0)[0] for m in ("vgg16", "vgg19")}


@pytest.mark.parametrize(
    "model, convs, relu_index",
    [("vgg19", 16, {"relu4_2": 22, "relu5_1": 29}), ("vgg16", 13, {"relu4_2": 20, "relu5_1": 25})],
)
def test_layer_names_match_torchvision_indices(model, convs, relu_index):
    names = layer_names(model)
    assert sum(n.startswith("conv") for n in names) == convs
    for name, index in relu_index.items():  # torchvision's documented feature indices
        assert names[index] == name
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]


@pytest.mark.parametrize("model", ["vgg16", "vgg19"])
def test_average_pooling_replaces_max_and_can_be_switched_back(states, model):
    avg = VGGFeatures(model, states[model], ["relu5_1"], pooling="avg")
    mx = VGGFeatures(model, states[model], ["relu5_1"], pooling="max")
    assert sum(isinstance(m, nn.AvgPool2d) for m in avg.layers) == 4
    assert not any(isinstance(m, nn.MaxPool2d) for m in avg.layers)
    assert sum(isinstance(m, nn.MaxPool2d) for m in mx.layers) == 4
    x = torch.rand(1, 3, 32, 32)
    assert not torch.allclose(avg(x, ["relu5_1"])["relu5_1"], mx(x, ["relu5_1"])["relu5_1"])


def test_truncated_after_deepest_layer_and_no_inplace_relu(states):
    net = VGGFeatures("vgg19", states["vgg19"], ["relu1_1", "relu3_1"])
    assert net.names[-1] == "relu3_1"
    assert all(not getattr(m, "inplace", False) for m in net.layers)


def test_features_read_are_not_corrupted_by_later_layers(states):
    """relu1_1 read together with deeper layers equals relu1_1 read alone."""
    net = VGGFeatures("vgg19", states["vgg19"], STYLE_LAYERS)
    x = torch.rand(1, 3, 32, 32)
    alone = net(x, ["relu1_1"])["relu1_1"]
    together = net(x, STYLE_LAYERS)["relu1_1"]
    assert torch.equal(alone, together)
    assert (together >= 0).all()


def test_imagenet_normalisation_is_inside(states):
    net = VGGFeatures("vgg16", states["vgg16"], ["conv1_1"])
    x = torch.rand(1, 3, 16, 16)
    conv = nn.Conv2d(3, 64, 3, padding=1)
    conv.load_state_dict({"weight": states["vgg16"]["0.weight"], "bias": states["vgg16"]["0.bias"]})
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = conv((x - mean) / std)
    assert torch.allclose(net(x, ["conv1_1"])["conv1_1"], expected, atol=1e-5)


def test_replicate_padding_shows_the_network_no_frame(states):
    """With padding="replicate" a flat grey image looks flat to the network up to its very
    edge; the default zero padding (as trained) sees a dark frame there."""
    flat = torch.full((1, 3, 32, 32), 0.5)
    replicate = VGGFeatures("vgg16", states["vgg16"], ["relu2_1"], padding="replicate")
    ours = replicate(flat, ["relu2_1"])["relu2_1"]
    assert torch.allclose(ours, ours[..., 8:9, 8:9].expand_as(ours), atol=1e-4)
    zeros = VGGFeatures("vgg16", states["vgg16"], ["relu2_1"])
    edge = zeros(flat, ["relu2_1"])["relu2_1"]
    assert not torch.allclose(edge, edge[..., 8:9, 8:9].expand_as(edge), atol=1e-4)


def test_the_mirrored_margin_shows_the_network_no_frame_and_keeps_every_shape(states):
    """What the objectives use against frames: with the image mirrored around it, a flat
    image looks flat to the network up to its edge, and every layer has the positions it
    would have without the margin."""
    net = VGGFeatures("vgg16", states["vgg16"], STYLE_LAYERS)
    flat = torch.full((1, 3, 64, 80), 0.5)
    seen = net(flat, STYLE_LAYERS, margin=MARGIN)
    plain = net(flat, STYLE_LAYERS)
    for layer in STYLE_LAYERS:
        assert seen[layer].shape == plain[layer].shape
    inner = seen["relu2_1"]
    assert torch.allclose(inner, inner[..., 8:9, 8:9].expand_as(inner), atol=1e-4)
    edge = plain["relu2_1"]
    assert not torch.allclose(edge, edge[..., 8:9, 8:9].expand_as(edge), atol=1e-4)
    assert margin_for(64, 80) == MARGIN and margin_for(16, 400) == 0  # too thin to mirror


def test_parameters_frozen_only_image_gets_gradient(states):
    net = VGGFeatures("vgg19", states["vgg19"], ["relu3_1"])
    assert all(not p.requires_grad for p in net.parameters())
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(image, ["relu3_1"])["relu3_1"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_unknown_layer_is_refused(states):
    with pytest.raises(ValueError, match="relu6_1"):
        VGGFeatures("vgg16", states["vgg16"], ["relu6_1"])
