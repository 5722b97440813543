"""``impasto-daemon``: the warm style-transfer service, in the foreground (systemd, tests).

Exit status: 0 after a clean stop, 2 bad configuration (endpoint, keys, device), 3 already
running, 4 weights missing, 1 anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from impasto_wire.protocol import Limits

DEFAULT_LIMITS = Limits()
MB = 2**20


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="impasto-daemon",
        description="Serve neural style transfer over ZeroMQ, keeping the network warm.",
        epilog="Clients find the daemon through IMPASTO_ENDPOINT, the endpoint file it writes in "
               "its runtime folder, or the default endpoint.",
    )
    p.add_argument("--endpoint", default=None,
                   help="where to listen: ipc://PATH or tcp://127.0.0.1:PORT (default: an ipc "
                        "socket in $XDG_RUNTIME_DIR/impasto/, 0700)")
    p.add_argument("--device", default="auto",
                   help="auto (every GPU, else the CPU), cpu, cuda:N or a list such as "
                        "cuda:0,cuda:1: one worker per device (default auto)")
    p.add_argument("--model", default="vgg19", metavar="vgg19,vgg16",
                   help="network(s) to keep loaded, comma-separated (default vgg19)")
    p.add_argument("--weights", default="torchvision",
                   help="torchvision, random (tests and demos, not a real model) or a .pth file")
    p.add_argument("--seed", type=int, default=0, help="seed for --weights random")
    c = p.add_argument_group("remote access (CurveZMQ; required to listen beyond loopback)")
    c.add_argument("--curve-secret-key", metavar="FILE",
                   help="the daemon's NAME.key_secret (see `impasto keys`)")
    c.add_argument("--curve-allowed-keys", metavar="DIR",
                   help="folder of allowed client public keys (*.key)")
    lim = p.add_argument_group("limits (announced to clients in the hello reply)")
    lim.add_argument("--max-pixels", type=int, default=DEFAULT_LIMITS.max_pixels,
                     help="largest image, in pixels (default %(default)s)")
    lim.add_argument("--max-message-mb", type=int, default=DEFAULT_LIMITS.max_message_bytes // MB,
                     help="largest request in MiB, also ZeroMQ's MAXMSGSIZE (default %(default)s)")
    lim.add_argument("--max-styles", type=int, default=DEFAULT_LIMITS.max_styles)
    lim.add_argument("--max-layers", type=int, default=DEFAULT_LIMITS.max_layers)
    lim.add_argument("--max-iterations", type=int, default=DEFAULT_LIMITS.max_iterations)
    lim.add_argument("--max-queue", type=int, default=DEFAULT_LIMITS.max_queue)
    lim.add_argument("--client-timeout", type=float, default=10.0,
                     help="cancel a job whose client was silent this many seconds (default 10)")
    lim.add_argument("--memory-budget-mb", type=int, default=None,
                     help="memory one job may use per device; larger layers are tiled "
                          "(default: 90%% of free GPU memory, or half the free RAM on a CPU)")
    lim.add_argument("--target-cache-mb", type=int, default=256,
                     help="memory for cached style targets (default 256)")
    p.add_argument("--no-announce", dest="announce", action="store_false",
                   help="do not write the endpoint file clients use to find this daemon")
    p.add_argument("--log-level", default="info",
                   choices=("debug", "info", "warning", "error"), help="(default info)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
    models = tuple(m.strip() for m in args.model.split(",") if m.strip())
    limits = Limits(
        max_message_bytes=args.max_message_mb * MB, max_pixels=args.max_pixels,
        max_styles=args.max_styles, max_layers=args.max_layers,
        max_iterations=args.max_iterations, max_queue=args.max_queue,
    )
    config = DaemonConfig(
        endpoint=args.endpoint, device=args.device, models=models, weights=args.weights,
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
