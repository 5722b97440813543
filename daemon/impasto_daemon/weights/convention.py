"""Fold the Keras/Caffe input convention into a first convolution made for it.

Caffe-trained VGGs (and Keras' ImageNet VGGs, which are the same weights) expect
    y = 255 * x_bgr - caffe_mean_bgr          (BGR, 0-255, per-channel mean subtracted)
while the engine feeds torchvision's convention
    n = (x_rgb - mean) / std                  (RGB, 0-1, ImageNet mean/std).
With c the RGB channel and k = 2 - c its BGR index, x_c = std_c * n_c + mean_c, so
    y_k = 255 * std_c * n_c + (255 * mean_c - caffe_mean_k).
The convolution is linear, hence  W * y + b = W' * n + b'  with
    W'[o, c] = 255 * std_c * W[o, 2 - c]
    b'[o]    = b[o] + sum_{c,h,w} W[o, 2 - c, h, w] * (255 * mean_c - caffe_mean_{2-c}).
The bias fold is exact wherever the 3x3 window lies inside the image. At the one-pixel border
both networks zero-pad, but a zero in n is y = 255*mean - caffe_mean (at most 0.5 of 255
here), not y = 0, so border outputs differ by that tiny amount: the accepted practice of
every Caffe-to-PyTorch conversion.
"""

from __future__ import annotations

import numpy as np

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


def fold_caffe_input(weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (W', b') for torchvision-normalised RGB input from Caffe-convention (W, b).

    weight is OIHW with I = 3 in BGR order; the result is OIHW with I in RGB order.
    Computed in float64 and returned as float32.
    """
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"first convolution must be OIHW with 3 inputs, got {weight.shape}")
    w = weight.astype(np.float64)[:, ::-1]  # BGR -> RGB: w[:, c] = W[:, 2 - c]
    std = np.asarray(IMAGENET_STD_RGB, dtype=np.float64)
    mean = np.asarray(IMAGENET_MEAN_RGB, dtype=np.float64)
    caffe_mean_rgb = np.asarray(CAFFE_MEAN_BGR, dtype=np.float64)[::-1]
    offset = 255.0 * mean - caffe_mean_rgb  # y_k for n_c = 0, in RGB order
    new_weight = w * (255.0 * std)[None, :, None, None]
    new_bias = bias.astype(np.float64) + np.einsum("ochw,c->o", w, offset)
    return new_weight.astype(np.float32), new_bias.astype(np.float32)
