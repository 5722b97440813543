"""``impasto weights`` sub-commands: fetch torchvision's files, import an ONNX VGG, inspect."""

from __future__ import annotations

import argparse
import sys

from . import exit_codes

# The weights package imports torch (seconds): each command imports it only when it runs.


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("import-onnx",
                              help="convert an ONNX VGG16/VGG19 into Impasto weights",
                              description="Convert a Keras/Caffe-convention ONNX VGG16 or VGG19 "
                              "export into a .pth file usable with --weights PATH.")
    p.add_argument("onnx", help="the .onnx file")
    p.add_argument("-o", "--output", required=True, help="the .pth file to write")
    p.add_argument("--model", choices=("vgg16", "vgg19"), default=None,
                   help="which network it is (default: inferred from the convolution count)")
    p.set_defaults(func=_import_onnx)

    p = subparsers.add_parser("fetch-weights", help="download torchvision's ImageNet VGG weights",
                              description="Download torchvision's VGG weights into torch's "
                              "cache, checking their hash (needs internet).")
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="vgg19 and/or vgg16 (default: both)")
    p.set_defaults(func=_fetch)

    p = subparsers.add_parser("check-weights", help="verify a weights source and show its SHA-256")
    p.add_argument("source",
                   help="torchvision, random, or a .pth path (PATH#sha256=HEX enforces a hash)")
    p.add_argument("--model", choices=("vgg19", "vgg16"), default="vgg19")
    p.set_defaults(func=_check)


def _import_onnx(args: argparse.Namespace) -> int:
    from ..weights import WeightsError, import_onnx_vgg

    try:
        info = import_onnx_vgg(args.onnx, args.output, args.model)
    except (WeightsError, OSError) as exc:
        print(f"impasto: {exc}", file=sys.stderr)
        return exit_codes.WEIGHTS
    print(f"wrote {args.output}: {info.label} (sha256 {info.sha256})")
    return exit_codes.OK


def _fetch(args: argparse.Namespace) -> int:
    from ..weights import WeightsError, fetch_torchvision_weights

    models = args.models or ["vgg19", "vgg16"]
    unknown = sorted(set(models) - {"vgg19", "vgg16"})
    if unknown:
        print(f"impasto: unknown model(s) {', '.join(unknown)}: choose vgg19 or vgg16",
              file=sys.stderr)
        return exit_codes.USAGE
    code = exit_codes.OK
    for model in models:
        try:
            path = fetch_torchvision_weights(model)
            print(f"{model}: {path} (hash verified)")
        except WeightsError as exc:
            print(f"impasto: {model}: {exc}", file=sys.stderr)
            code = exit_codes.WEIGHTS
    return code


def _check(args: argparse.Namespace) -> int:
    from ..weights import WeightsError, load_vgg_features

    try:
        _, info = load_vgg_features(args.model, args.source)
    except WeightsError as exc:
        print(f"impasto: {exc}", file=sys.stderr)
        return exit_codes.WEIGHTS
    print(f"{info.model}: {info.label}")
    if info.sha256:
        print(f"sha256 {info.sha256}")
    return exit_codes.OK
