"""The yardstick: a plain style-transfer loop written the way the PyTorch tutorial teaches it.

fp32, loss modules spliced into an nn.Sequential copy of VGG's features, L-BFGS with a closure
that clamps the image. Kept deliberately naive: this is what Impasto is measured against.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models


class _ContentLoss(nn.Module):
    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.target = target.detach()
        self.loss = torch.tensor(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(x, self.target)
        return x


def _gram(x: torch.Tensor) -> torch.Tensor:
    a, b, c, d = x.size()
    f = x.view(a * b, c * d)
    return torch.mm(f, f.t()).div(a * b * c * d)


class _StyleLoss(nn.Module):
    def __init__(self, target_feature: torch.Tensor) -> None:
        super().__init__()
        self.target = _gram(target_feature).detach()
        self.loss = torch.tensor(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(_gram(x), self.target)
        return x


class _Normalization(nn.Module):
    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(-1, 1, 1)
        self.std = torch.tensor([0.229, 0.224, 0.225], device=device).view(-1, 1, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return (img - self.mean) / self.std


def tutorial_run(
    features: nn.Sequential,
    content: torch.Tensor,
    style: torch.Tensor,
    iterations: int,
    style_weight: float = 1e6,
    content_weight: float = 1.0,
) -> tuple[torch.Tensor, float, int]:
    """Run the tutorial's loop; returns the image, seconds optimising, closure calls made.

    The tutorial reads conv_1…conv_5; here the losses sit on Gatys' layers (relu1_1, relu2_1,
    relu3_1, relu4_1, relu5_1; content relu4_2). Impasto reads the same style layers (its
    content sits at relu3_1, inside the same pass), so both do the same work.
    """
    device = content.device
    vgg16 = sum(isinstance(m, nn.Conv2d) for m in features.children()) == 13
    content_layers = ["relu_9" if vgg16 else "relu_10"]
    style_layers = [f"relu_{i}" for i in ((1, 3, 5, 8, 11) if vgg16 else (1, 3, 5, 9, 13))]
    model = nn.Sequential(_Normalization(device))
    content_losses, style_losses = [], []
    i = 0
    for layer in features.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name, layer = f"relu_{i}", nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        else:
            name = f"other_{i}"
        model.add_module(name, layer)
        if name in content_layers:
            loss = _ContentLoss(model(content).detach())
            model.add_module(f"content_loss_{i}", loss)
            content_losses.append(loss)
        if name in style_layers:
            loss = _StyleLoss(model(style).detach())
            model.add_module(f"style_loss_{i}", loss)
            style_losses.append(loss)
    last = max(j for j, m in enumerate(model) if isinstance(m, (_ContentLoss, _StyleLoss)))
    model = model[: last + 1].eval().requires_grad_(False)
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image])
    run = [0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    while run[0] < iterations:

        def closure() -> torch.Tensor:
            with torch.no_grad():
                image.clamp_(0, 1)
            optimizer.zero_grad()
            model(image)
            s = sum(sl.loss for sl in style_losses) * style_weight
            c = sum(cl.loss for cl in content_losses) * content_weight
            loss = s + c
            loss.backward()
            run[0] += 1
            return s + c

        optimizer.step(closure)
    with torch.no_grad():
        image.clamp_(0, 1)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return image.detach(), time.perf_counter() - start, run[0]


def tutorial_features(model: str, state_dict: dict, device: torch.device) -> nn.Sequential:
    features = getattr(models, model)(weights=None).features
    features.load_state_dict(state_dict)
    return features.to(device).eval()
