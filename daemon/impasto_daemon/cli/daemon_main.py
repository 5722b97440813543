"""``impasto-daemon``: the warm style-transfer service, in the foreground (systemd, tests).

Settings come from the configuration file (``--config PATH``, else
``$XDG_CONFIG_HOME/impasto/daemon.toml`` when it exists; docs/CONFIG.md); every flag given
overrides the file's value.

Exit status: 0 after a clean stop, 2 bad configuration (endpoint, keys, device), 3 already
running, 4 weights missing, 1 anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from impasto_wire import daemon_config
from impasto_wire.limits import check_setting
from impasto_wire.protocol import Limits

DEFAULT_LIMITS = Limits()
MB = 2**20


def _bounded(name: str, kind: type = int):
    """An argparse type: ``kind`` within ``limits.DAEMON_SETTING_RANGES[name]``."""
    def parse(text: str):
        try:
            return check_setting(name, kind(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc) if "between" in str(exc) else
                                             f"{text!r} is not a {kind.__name__}") from None
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="impasto-daemon",
        description="Serve neural style transfer over ZeroMQ, keeping the network warm.",
        epilog="Clients find the daemon through IMPASTO_ENDPOINT, the endpoint file it writes in "
               "its runtime folder, or the default endpoint.",
    )
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="the configuration file (default: $XDG_CONFIG_HOME/impasto/daemon.toml "
                        "when it exists); flags override what it says")
    p.add_argument("--endpoint", default=None,
                   help="where to listen: ipc://PATH or tcp://127.0.0.1:PORT (default: the "
                        "configuration's, else an ipc socket in $XDG_RUNTIME_DIR/impasto/, 0700)")
    p.add_argument("--device", default=None,
                   help="auto (every GPU, else the CPU), cpu, cuda:N or a list such as "
                        "cuda:0,cuda:1: one worker per device (default: the configuration's, "
                        "else auto)")
    p.add_argument("--model", default=None, metavar="vgg19,vgg16",
                   help="network(s) to keep loaded, comma-separated (default: the "
                        "configuration's, else vgg19)")
    p.add_argument("--weights", action="append", default=[], metavar="[MODEL=]SOURCE",
                   help="torchvision, random (tests and demos, not a real model) or a .pth file "
                        "(PATH#sha256=HEX enforces its hash); MODEL=SOURCE sets one model's "
                        "(repeatable; default: the configuration's, else torchvision)")
    p.add_argument("--seed", type=_bounded("seed"), default=0, help="seed for --weights random")
    c = p.add_argument_group("remote access (CurveZMQ; required to listen beyond loopback)")
    c.add_argument("--curve-secret-key", metavar="FILE",
                   help="the daemon's NAME.key_secret (see `impasto keys`)")
    c.add_argument("--curve-allowed-keys", metavar="DIR",
                   help="folder of allowed client public keys (*.key)")
    lim = p.add_argument_group("limits (announced to clients in the hello reply)")
    lim.add_argument("--max-pixels", type=_bounded("max_pixels"), default=DEFAULT_LIMITS.max_pixels,
                     help="largest image, in pixels (default %(default)s)")
    lim.add_argument("--max-message-mb", type=_bounded("max_message_mb"),
                     default=DEFAULT_LIMITS.max_message_bytes // MB,
                     help="largest request in MiB, also ZeroMQ's MAXMSGSIZE (default %(default)s)")
    lim.add_argument("--max-styles", type=_bounded("max_styles"), default=DEFAULT_LIMITS.max_styles)
    lim.add_argument("--max-layers", type=_bounded("max_layers"), default=DEFAULT_LIMITS.max_layers)
    lim.add_argument("--max-iterations", type=_bounded("max_iterations"),
                     default=DEFAULT_LIMITS.max_iterations)
    lim.add_argument("--max-queue", type=_bounded("max_queue"), default=DEFAULT_LIMITS.max_queue)
    lim.add_argument("--max-queued-mb", type=_bounded("max_queued_mb"),
                     default=DEFAULT_LIMITS.max_queued_bytes // MB,
                     help="payload MiB all accepted, unfinished jobs may hold together; beyond "
                          "it a request is answered busy (default %(default)s)")
    lim.add_argument("--client-timeout", type=_bounded("client_timeout", float), default=10.0,
                     help="cancel a job whose client was silent this many seconds (default 10)")
    lim.add_argument("--memory-budget-mb", type=_bounded("memory_budget_mb"), default=None,
                     help="memory one job may use per device; larger layers are tiled "
                          "(default: the configuration's, else 90%% of free GPU memory, or half "
                          "the free RAM on a CPU)")
    lim.add_argument("--target-cache-mb", type=_bounded("target_cache_mb"), default=256,
                     help="memory for cached style targets (default 256)")
    p.add_argument("--no-announce", dest="announce", action="store_false",
                   help="do not write the endpoint file clients use to find this daemon")
    p.add_argument("--log-level", default="info",
                   choices=("debug", "info", "warning", "error"), help="(default info)")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill every setting not given as a flag from the configuration file; ValueError says
    what is wrong (a bad file, an unknown model in --weights MODEL=SOURCE)."""
    path = args.config if args.config is not None else daemon_config.default_path()
    try:
        cfg = daemon_config.load(path)
    except daemon_config.ConfigError as exc:
        raise ValueError(str(exc)) from None
    if cfg is None:
        if args.config is not None:
            raise ValueError(f"no configuration file at {args.config}")
        cfg = daemon_config.ConfigFile()
    args.config_used = cfg.path
    models = args.model.split(",") if args.model else cfg.models
    args.models = tuple(m.strip() for m in models if m.strip())
    sources = {m: cfg.weights_for(m) for m in args.models}
    for spec in args.weights:
        model, eq, source = spec.partition("=")
        if eq and model in daemon_config.MODELS:
            if model not in sources:
                raise ValueError(f"--weights {spec}: {model} is not among the models loaded "
                                 f"({','.join(args.models)})")
            sources[model] = source
        else:
            sources = {m: spec for m in args.models}
    distinct = set(sources.values())
    args.weights_source = distinct.pop() if len(distinct) == 1 else sources
    args.device = args.device or cfg.device
    args.endpoint = args.endpoint or cfg.endpoint or None
    if args.memory_budget_mb is None and cfg.memory_budget_mb:
        args.memory_budget_mb = cfg.memory_budget_mb
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args = resolve(args)
    except ValueError as exc:
        print(f"impasto-daemon: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from ..server.daemon import DaemonConfig, run_daemon
    from ..server.security import CurveServerConfig

    if bool(args.curve_secret_key) != bool(args.curve_allowed_keys):
        print("impasto-daemon: --curve-secret-key and --curve-allowed-keys go together",
              file=sys.stderr)
        return 2
    if args.config_used is not None:
        logging.getLogger("impasto.daemon").info("configuration: %s", args.config_used)
    limits = Limits(
        max_message_bytes=args.max_message_mb * MB, max_pixels=args.max_pixels,
        max_styles=args.max_styles, max_layers=args.max_layers,
        max_iterations=args.max_iterations, max_queue=args.max_queue,
        max_queued_bytes=args.max_queued_mb * MB,
    )
    config = DaemonConfig(
        endpoint=args.endpoint, device=args.device, models=args.models,
        weights=args.weights_source,  # one source, or {model: source}
        seed=args.seed, limits=limits, client_timeout=args.client_timeout,
        target_cache_bytes=args.target_cache_mb * MB,
        memory_budget_bytes=args.memory_budget_mb * MB if args.memory_budget_mb else None,
        announce=args.announce,
        curve=CurveServerConfig(args.curve_secret_key, args.curve_allowed_keys)
        if args.curve_secret_key else None,
    )
    return run_daemon(config)


if __name__ == "__main__":
    sys.exit(main())
