"""Assembly of the daemon: claim the endpoint, load the engine once, bind, serve, shut down.

SIGTERM/SIGINT (or a local ``stop`` request) end it: queued jobs are answered
``shutting_down``, the running job is cancelled (it stops within one iteration), sockets close
with LINGER set, the socket and announce files are removed, and the exit status is 0.
Torch is imported only after the endpoint is claimed, so "already running" answers at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

import zmq

from impasto_wire import admin_token
from impasto_wire import endpoints as E
from impasto_wire.protocol import Limits

from .instance import AlreadyRunning, EndpointClaim, prepare_ipc_folder
from .security import CurveServer, CurveServerConfig, SecurityError, check_bind_policy

log = logging.getLogger("impasto.daemon")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2  # bad endpoint, refused bind, bad keys, bad device
EXIT_ALREADY_RUNNING = 3
EXIT_WEIGHTS = 4  # same number as the CLI's exit code for missing weights

LINGER_MS = 500
RECEIVE_QUEUE = 2  # messages per connection waiting to be read
HEARTBEAT_MS = 1000  # ZeroMQ pings each connection; see _no_takeover


@dataclass
class DaemonConfig:
    endpoint: str | None = None  # None: the default local endpoint
    device: str = "auto"
    models: tuple[str, ...] = ("vgg19",)
    weights: str = "torchvision"
    seed: int = 0
    curve: CurveServerConfig | None = None
    limits: Limits = field(default_factory=Limits)
    client_timeout: float = 10.0
    target_cache_bytes: int = 256 * 2**20
    memory_budget_bytes: int | None = None  # per device; None = decided from free memory
    style_cache_bytes: int = 128 * 2**20
    shutdown_grace: float = 10.0
    announce: bool = True


def daemon_version() -> str:
    try:
        from importlib.metadata import version

        return version("impasto")
    except Exception:
        return "0+unknown"


def run_daemon(config: DaemonConfig) -> int:
    """Serve until told to stop; returns the process exit status."""
    try:  # every endpoint problem is found here, before the model is loaded
        endpoint = config.endpoint or E.default_endpoint()
        E.check_endpoint(endpoint)
        check_bind_policy(endpoint, config.curve)
        loose = prepare_ipc_folder(endpoint)
        if config.announce:
            E.announce_path()  # the runtime folder must be ours before we write in it
    except (E.EndpointError, SecurityError, OSError) as exc:
        return _fail(EXIT_CONFIG, str(exc))
    if loose is not None:
        log.warning("socket folder %s is accessible to other users; prefer a 0700 folder", loose)
    claim = EndpointClaim(endpoint)
    try:
        claim.acquire()
    except AlreadyRunning as exc:
        return _fail(EXIT_ALREADY_RUNNING, str(exc))
    try:
        return _serve(config, endpoint, claim)
    finally:
        claim.release()


def _fail(code: int, message: str) -> int:
    print(f"impasto-daemon: {message}", file=sys.stderr)
    return code


def _serve(config: DaemonConfig, endpoint: str, claim: EndpointClaim) -> int:
    from ..engine import StyleEngine
    from ..engine.target_cache import TargetCache
    from ..weights import WeightsError
    from .job_table import JobTable
    from .outbox import Outbox
    from .router import Router
    from .status import DaemonInfo
    from .style_decode import DecodedStyles, configure_pillow
    from .worker import Worker

    try:
        engines = [
            StyleEngine(device=device, weights=config.weights, models=config.models,
                        seed=config.seed, target_cache=TargetCache(config.target_cache_bytes),
                        memory_budget=config.memory_budget_bytes)
            for device in _worker_devices(config.device)
        ]
    except WeightsError as exc:
        return _fail(EXIT_WEIGHTS, str(exc))
    except (ValueError, RuntimeError) as exc:
        return _fail(EXIT_CONFIG, f"cannot start the engine: {exc}")
    configure_pillow(config.limits.max_pixels)

    ctx = zmq.Context()
    curve = None
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, LINGER_MS)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # sending to a vanished client raises: cancel its job
    _no_takeover(sock, config.client_timeout)
    sock.setsockopt(zmq.MAXMSGSIZE, config.limits.max_message_bytes)
    # ZeroMQ stops reading from a connection whose queue holds this many requests, so a sender
    # that is ahead waits in its own memory, not ours (issue 19, item 10)
    sock.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
    try:
        if config.curve is not None:
            curve = CurveServer(ctx, config.curve)
            curve.apply(sock)
        endpoint = _bind(sock, endpoint)
        # TCP: proof of being the daemon's user for stop, status details, others' jobs
        token = admin_token.create_token(endpoint)
    except (SecurityError, AlreadyRunning, zmq.ZMQError, OSError, E.EndpointError) as exc:
        sock.close(0)
        if curve is not None:
            curve.stop()
        ctx.term()
        code = EXIT_ALREADY_RUNNING if isinstance(exc, AlreadyRunning) else EXIT_CONFIG
        return _fail(code, str(exc))

    outbox, table = Outbox(), JobTable(config.limits)
    styles = DecodedStyles(config.style_cache_bytes)
    engine = engines[0]
    device = ",".join(str(e.device) for e in engines)
    info = DaemonInfo(
        daemon_version=daemon_version(), device=device, devices=_devices(), endpoint=endpoint,
        models=[{"name": name, "label": wi.label, "source": wi.source, "random": wi.is_random}
                for name, wi in engine.weights_info.items()],
    )

    def cache_status() -> dict[str, Any]:
        caches = [e.targets for e in engines]
        return {"target_cache": {"entries": sum(len(t) for t in caches),
                                 "bytes": sum(t.nbytes for t in caches),
                                 "hits": sum(t.hits for t in caches),
                                 "misses": sum(t.misses for t in caches)},
                "style_cache": {"entries": len(styles), "bytes": styles.nbytes,
                                "hits": styles.hits}}

    router = Router(sock, outbox, table, config.limits, info, client_timeout=config.client_timeout,
                    local_transport=endpoint.startswith("ipc://"),
                    token=token[1] if token is not None else None, extra_status=cache_status)
    # One worker per device, all taking jobs from the same table.
    workers = [Worker(e, table, outbox, styles, config.limits.max_pixels,
                      name=f"impasto-worker-{e.device}") for e in engines]
    for worker in workers:
        worker.start()
    if config.announce:
        E.write_announced(endpoint)
    previous = {s: signal.signal(s, lambda *_: router.request_stop())
                for s in (signal.SIGTERM, signal.SIGINT)}
    for model in info.models:
        if model["random"]:
            log.warning("model %s: %s", model["name"], model["label"])
    log.info("impasto-daemon %s ready on %s (device %s, pid %d)", info.daemon_version, endpoint,
             device, os.getpid())
    try:
        router.serve(config.shutdown_grace)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        table.close()
        for worker in workers:
            worker.join(timeout=config.shutdown_grace)
        sock.close(LINGER_MS)
        if curve is not None:
            curve.stop()
        outbox.close()
        ctx.term()
        if config.announce:
            E.remove_announced(endpoint)
        if token is not None:
            admin_token.remove_token(*token)
    log.info("impasto-daemon stopped")
    return EXIT_OK


def _no_takeover(sock: zmq.Socket, client_timeout: float) -> None:
    """A job's messages go only to the connection that submitted it: a second connection
    presenting a routing id already connected is refused (ROUTER_HANDOVER would give it the
    job's progress and result, whoever opened it: issue 19, item 8). ZeroMQ heartbeats close a
    dead connection, so a client that really reconnects gets its id back, after the silent
    client's jobs were cancelled with a reason it can still ask for."""
    sock.setsockopt(zmq.ROUTER_HANDOVER, 0)
    sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_MS)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, int((client_timeout + 5.0) * 1000))


def _bind(sock: zmq.Socket, endpoint: str) -> str:
    """Bind, or raise: TCP is used only when asked for."""
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        if exc.errno == zmq.EADDRINUSE:
            raise AlreadyRunning(f"{endpoint} is already in use (another daemon?)") from None
        # never a silent move to TCP, which any local user could reach or occupy first
        raise zmq.ZMQError(exc.errno, f"cannot bind {endpoint}: {exc}") from None
    bound = sock.getsockopt_string(zmq.LAST_ENDPOINT) or endpoint
    path = E.ipc_path(bound)
    if path is not None:
        os.chmod(path, 0o600)
    return bound


def _worker_devices(spec: str) -> list[str]:
    """``auto`` = every CUDA GPU (else the CPU); ``cuda:0,cuda:1`` = those; ``all`` = all GPUs."""
    import torch

    if spec in ("auto", "all") and torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if spec == "all":
        return ["cpu"]
    return [d.strip() for d in spec.split(",") if d.strip()]


def _devices() -> list[str]:
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return devices
