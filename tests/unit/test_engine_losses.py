"""Loss values against hand computations."""

from __future__ import annotations

import torch

from impasto_daemon.engine.losses import ContentLoss, StyleLoss, TVLoss, gram_matrix


def test_gram_matrix_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 1x2x2x2
    # channel vectors a=(1,2,3,4), b=(0,1,0,1): a.a=30, a.b=6, b.b=2; normalised by C*H*W=8
    expected = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]]) / 8
    assert torch.allclose(gram_matrix(f), expected)


def test_gram_is_fp32_under_bf16_input():
    f = torch.rand(1, 4, 3, 3).to(torch.bfloat16)
    assert gram_matrix(f).dtype == torch.float32


def test_content_loss_is_mse_and_target_is_buffer():
    target = torch.zeros(1, 2, 2, 2)
    loss = ContentLoss(target)
    assert "target" in dict(loss.named_buffers())
    assert torch.isclose(loss(torch.full((1, 2, 2, 2), 3.0)), torch.tensor(9.0))


def test_style_loss_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])
    loss = StyleLoss(torch.zeros(1, 2, 2))
    g = torch.tensor([30.0, 6.0, 6.0, 2.0]) / 8
    assert torch.isclose(loss(f), (g**2).mean())
    assert torch.isclose(StyleLoss(gram_matrix(f))(f), torch.tensor(0.0))


def test_tv_loss_by_hand():
    img = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # horizontal steps of 1, vertical of 0
    assert torch.isclose(TVLoss()(img), torch.tensor(1.0))
