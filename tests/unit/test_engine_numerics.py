"""The GPU's arithmetic paths, checked on the CPU: bf16 autocast and the channels_last layout
must give the objective and the features the fp32, standard-layout path gives."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from impasto_daemon.engine.objective.whole import StyleObjective, content_features, style_grams
from impasto_daemon.engine.planning.numerics import ENV_CPU_BF16, use_autocast
from impasto_daemon.engine.vgg import CONTENT_LAYER, STYLE_LAYERS, VGGFeatures
from impasto_daemon.weights import load_vgg_features


@pytest.fixture(scope="module")
def net() -> VGGFeatures:
    state, _ = load_vgg_features("vgg16", "random", seed=0)
    return VGGFeatures("vgg16", state, [CONTENT_LAYER, *STYLE_LAYERS])


def smooth(seed: int, h: int = 48, w: int = 64) -> torch.Tensor:
    coarse = torch.rand(1, 3, h // 8, w // 8, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def first_conv(net: VGGFeatures) -> torch.nn.Conv2d:
    return next(m for m in net.layers if isinstance(m, torch.nn.Conv2d))


def test_autocast_is_used_on_cuda_and_where_the_cpu_is_told(monkeypatch):
    assert use_autocast(torch.device("cuda")) is True
    assert use_autocast(torch.device("meta")) is False
    monkeypatch.setenv(ENV_CPU_BF16, "1")
    assert use_autocast(torch.device("cpu")) is True
    monkeypatch.setenv(ENV_CPU_BF16, "0")
    assert use_autocast(torch.device("cpu")) is False


def loss_and_gradient(net: VGGFeatures, seed: int, autocast: bool) -> tuple[float, torch.Tensor]:
    """The objective's total and its gradient on a noisy photo, with the net as it is."""
    content, style = smooth(seed), smooth(seed + 1, 40, 40)
    image = (content + 0.05 * torch.rand_like(content)).clamp(0, 1)
    objective = StyleObjective(
        net, CONTENT_LAYER, content_features(net, content, CONTENT_LAYER, autocast),
        style_grams(net, style, STYLE_LAYERS, autocast), 1.0, 2.0, 0.0)
    x = image.clone().requires_grad_(True)
    parts = objective.backward(x, autocast)
    assert parts.total.dtype == torch.float32  # losses are accumulated in fp32
    return float(parts.total.detach()), x.grad.flatten()


def test_bf16_autocast_gives_the_fp32_loss_and_gradient(net):
    torch.manual_seed(0)
    fp32, g32 = loss_and_gradient(net, 1, autocast=False)
    torch.manual_seed(0)
    bf16, g16 = loss_and_gradient(net, 1, autocast=True)
    assert abs(bf16 - fp32) <= 0.02 * fp32  # measured: 0.13 %
    assert F.cosine_similarity(g32, g16, dim=0) > 0.99  # measured: 0.999


def test_channels_last_gives_the_same_features(net):
    image = smooth(3)
    standard = net(image, STYLE_LAYERS)
    last = net(image.contiguous(memory_format=torch.channels_last), STYLE_LAYERS)
    for layer in STYLE_LAYERS:
        torch.testing.assert_close(last[layer].contiguous(), standard[layer],
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("bf16", "amx", "channels_last"), [
    ("0", True, False), ("1", True, True), ("1", False, False)])
def test_the_engine_keeps_channels_last_weights_only_for_bf16_on_amx(
    monkeypatch, bf16, amx, channels_last
):
    """AMX's bf16 kernels walk channels-last weights faster; AVX512-BF16's without AMX, and
    fp32's, the standard layout."""
    from impasto_daemon.engine import StyleEngine
    from impasto_daemon.engine.planning import numerics

    monkeypatch.setenv(ENV_CPU_BF16, bf16)
    monkeypatch.setattr(numerics, "cpu_has_amx", lambda: amx)
    net = StyleEngine(device="cpu", weights="random", models=("vgg16",)).network("vgg16", "avg")
    conv = first_conv(net)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) is channels_last
    assert conv.weight.is_contiguous() is not channels_last


def test_a_network_follows_the_layout_when_the_arithmetic_changes_in_the_process(monkeypatch):
    """Each job reads IMPASTO_CPU_BF16 afresh for its autocast; the network it gets must be laid
    out for that arithmetic, not for the one the engine first built it under."""
    from impasto_daemon.engine import StyleEngine
    from impasto_daemon.engine.planning import numerics

    monkeypatch.setattr(numerics, "cpu_has_amx", lambda: True)
    engine = StyleEngine(device="cpu", weights="random", models=("vgg16",))

    def first_conv_channels_last(bf16: str) -> bool:
        monkeypatch.setenv(ENV_CPU_BF16, bf16)
        conv = first_conv(engine.network("vgg16", "avg"))
        return conv.weight.is_contiguous(memory_format=torch.channels_last)

    assert first_conv_channels_last("0") is False
    assert first_conv_channels_last("1") is True
    assert first_conv_channels_last("0") is False


def test_channels_last_weights_give_the_same_loss_and_gradient_under_bf16(net):
    """The layout only changes how the kernels walk memory (faster for bf16 on the CPU)."""
    torch.manual_seed(0)
    standard, g_standard = loss_and_gradient(net, 4, autocast=True)
    try:
        net.to(memory_format=torch.channels_last)
        torch.manual_seed(0)
        last, g_last = loss_and_gradient(net, 4, autocast=True)
    finally:
        net.to(memory_format=torch.contiguous_format)  # the fixture is shared
    assert abs(last - standard) <= 1e-3 * standard
    assert F.cosine_similarity(g_standard, g_last, dim=0) > 0.999
