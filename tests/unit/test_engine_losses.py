"""Loss values against hand computations."""

from __future__ import annotations

import torch

from impasto_daemon.engine.objective.losses import (
    HEADROOM,
    ContentLoss,
    RangeLoss,
    StyleLoss,
    TVLoss,
    gram_matrix,
)


def test_gram_matrix_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 1x2x2x2
    # channel vectors a=(1,2,3,4), b=(0,1,0,1): a.a=30, a.b=6, b.b=2; normalised by C*H*W=8
    expected = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]]) / 8
    assert torch.allclose(gram_matrix(f), expected)


def test_gram_is_fp32_under_bf16_input():
    f = torch.rand(1, 4, 3, 3).to(torch.bfloat16)
    assert gram_matrix(f).dtype == torch.float32


def test_content_loss_is_relative_mse_and_target_is_buffer():
    target = torch.full((1, 2, 2, 2), 2.0)  # mean square 4
    loss = ContentLoss(target)
    assert {"target", "scale"} <= set(dict(loss.named_buffers()))
    assert torch.isclose(loss(torch.full((1, 2, 2, 2), 5.0)), torch.tensor(9.0 / 4.0))
    assert torch.isclose(loss(target), torch.tensor(0.0))


def test_style_loss_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])
    target = torch.eye(2)[None]  # mean square 0.5
    g = torch.tensor([30.0, 6.0, 6.0, 2.0]) / 8
    expected = ((g - torch.tensor([1.0, 0.0, 0.0, 1.0])) ** 2).mean() / 0.5
    assert torch.isclose(StyleLoss(target)(f), expected)
    assert torch.isclose(StyleLoss(gram_matrix(f))(f), torch.tensor(0.0))


def test_losses_do_not_depend_on_activation_scale():
    """Imported Caffe-style weights give ~100x larger activations than torchvision's."""
    f, t = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    assert torch.isclose(ContentLoss(t)(f), ContentLoss(100 * t)(100 * f))
    assert torch.isclose(StyleLoss(gram_matrix(t))(f), StyleLoss(gram_matrix(100 * t))(100 * f))


def test_tv_loss_by_hand():
    img = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # horizontal steps of 1, vertical of 0
    assert torch.isclose(TVLoss()(img), torch.tensor(1.0))


def test_range_loss_by_hand_pulls_only_pixels_outside_the_range_back():
    low, high = HEADROOM, 1 - HEADROOM
    image = torch.tensor([[[[-0.5, low, 0.5, high, 1.25]]]], requires_grad=True)
    loss = RangeLoss()(image)
    assert torch.isclose(loss, torch.tensor(((0.5 + low) ** 2 + (1.25 - high) ** 2) / 5))
    loss.backward()
    # d/dx of (x - clamp(x))^2 / 5: inward for the two outside, nothing for the rest
    expected = torch.tensor([[[[-2 * (0.5 + low) / 5, 0, 0, 0, 2 * (1.25 - high) / 5]]]])
    assert torch.allclose(image.grad, expected)


def test_range_loss_keeps_pixels_off_the_levels_that_round_to_0_and_255():
    # a pixel exactly at 0 or 1 is clipped in the picture: the term pulls it in by HEADROOM,
    # enough that one the style holds a level beyond the bound still rounds inside 1..254
    image = torch.tensor([[[[0.0, 1.0]]]], requires_grad=True)
    RangeLoss()(image).backward()
    assert image.grad[0, 0, 0, 0] < 0 < image.grad[0, 0, 0, 1]
    assert round(255 * HEADROOM) >= 2


def test_pixel_terms_grow_with_the_style_that_pushes_pixels_out():
    """Only the style pushes pixels beyond 0..1 and paints speckle, so smoothing and the range
    penalty are weighted per unit of style weight: at ten times the style, ten times the pull
    back (a fixed range weight let strong styles clip: 0.36 of a picture at weight 32)."""
    from impasto_daemon.engine.objective.whole import RANGE_WEIGHT, PixelTerms

    image = torch.full((1, 3, 4, 4), 0.5)
    image[0, 0, 1, 2], image[0, 1, 2, 1] = 1.2, -0.1  # one pixel bright, one dark
    pulls = []
    for style_weight in (1.0, 10.0):
        pixels = image.clone().requires_grad_(True)
        tv, total = PixelTerms(style_weight, tv_weight=5.0)(pixels)
        total.backward()
        pulls.append(pixels.grad)
        by_hand = 5.0 * style_weight * tv + RANGE_WEIGHT * style_weight * RangeLoss()(pixels)
        assert torch.allclose(total, by_hand)
    assert torch.allclose(pulls[1], 10 * pulls[0])
    assert pulls[0][0, 0, 1, 2] > 0 > pulls[0][0, 1, 2, 1]  # descent pulls both back inside
    assert float(PixelTerms(0.0, tv_weight=5.0)(image)[1]) == 0.0  # no style: nothing to undo
