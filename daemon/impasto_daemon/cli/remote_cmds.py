"""``impasto status|cancel|stop|keys`` and the daemon path of ``impasto stylize``.

Everything here talks to the daemon through ``impasto_wire.Client`` only, exactly as the GIMP
plug-in does; nothing imports torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from impasto_wire import Client, DaemonError, DaemonUnavailable, Image, JobCancelled, Style
from impasto_wire import protocol as P
from impasto_wire.curve import CurveKeyError, create_key_pair
from impasto_wire.endpoints import discover_endpoint
from impasto_wire.launcher import (
    EXIT_WEIGHTS,
    DaemonExited,
    configured_endpoint,
    ensure_daemon,
    log_path,
    start_hint,
)

from . import exit_codes
from .image_io import ImageFileError, read_inputs
from .progress_bar import ProgressBar, done_line

# daemon error code -> exit status of the command line
_EXIT_FOR_CODE = {
    P.OOM: exit_codes.OUT_OF_MEMORY,
    P.DIVERGED: exit_codes.DIVERGED,
    P.BAD_REQUEST: exit_codes.USAGE,
    P.TOO_LARGE: exit_codes.USAGE,
    P.BAD_IMAGE: exit_codes.BAD_IMAGE,
    P.UNSUPPORTED_FORMAT: exit_codes.BAD_IMAGE,
    P.BAD_VERSION: exit_codes.DAEMON_UNAVAILABLE,
    P.SHUTTING_DOWN: exit_codes.DAEMON_UNAVAILABLE,
}


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register status, cancel, stop and keys on the ``impasto`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", default=None,
                        help="daemon endpoint (default: $IMPASTO_ENDPOINT, or discovered)")
    common.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the daemon (default %(default)s)")

    p = subparsers.add_parser("status", parents=[common],
                              help="show the daemon: device, models, queue, memory")
    p.add_argument("--json", action="store_true", help="print the raw status as JSON")
    p.set_defaults(func=status_cmd)

    p = subparsers.add_parser("cancel", parents=[common], help="cancel a queued or running job")
    p.add_argument("job_id", metavar="ID", help="the job id (see `impasto status`)")
    p.set_defaults(func=cancel_cmd)

    p = subparsers.add_parser("stop", parents=[common],
                              help="stop the daemon (the running job is cancelled)")
    p.set_defaults(func=stop_cmd)

    p = subparsers.add_parser(
        "keys", help="create a CurveZMQ key pair for remote access",
        description="Writes DIR/NAME.key (public) and DIR/NAME.key_secret (private, mode 0600). "
                    "Give the daemon --curve-secret-key DIR/server.key_secret and put each "
                    "client's NAME.key in its --curve-allowed-keys folder; a client uses "
                    "IMPASTO_CURVE_CLIENT_KEY=its .key_secret and "
                    "IMPASTO_CURVE_SERVER_KEY=the daemon's .key.",
    )
    p.add_argument("dir", metavar="DIR", help="folder for the key files (created if needed)")
    p.add_argument("--name", default="client", help="file name stem (default %(default)s)")
    p.set_defaults(func=keys_cmd)


def _err(message: str) -> None:
    print(f"impasto: {message}", file=sys.stderr)


def _client(args: argparse.Namespace) -> Client:
    return Client(args.endpoint or discover_endpoint(), timeout=args.timeout, name="impasto-cli")


def status_cmd(args: argparse.Namespace) -> int:
    try:
        with _client(args) as c:
            st = c.status()
    except DaemonUnavailable as exc:
        _err(str(exc))
        if exc.kind == DaemonUnavailable.ABSENT:  # else something is there: see the diagnosis
            _err(f"the configured daemon starts with: {start_hint()}")
        return exit_codes.DAEMON_UNAVAILABLE
    except DaemonError as exc:
        _err(str(exc))
        return exit_codes.FAILED
    if args.json:
        print(json.dumps({k: v for k, v in st.items() if k not in ("v", "type", "id")}, indent=2))
        return exit_codes.OK
    print(format_status(st))
    return exit_codes.OK


def format_status(st: dict[str, Any]) -> str:
    """A few lines a person reads at a glance."""
    lines = [
        f"daemon   impasto-daemon {st.get('daemon_version')} (protocol {st.get('protocol')}), "
        f"pid {st.get('pid')}, up {_duration(st.get('uptime', 0))}",
        f"endpoint {st.get('endpoint')}",
        f"device   {st.get('device')} (available: {', '.join(st.get('devices', []))})",
    ]
    for m in st.get("models", []):
        lines.append(f"model    {m.get('name')}: {m.get('label')}")
    running = st.get("running") or []
    for r in running:
        lines.append(
            f"running  {r['id']}  layer {r.get('layer', 0) + 1}/{r.get('layers', 1)}  "
            f"{r.get('stage')}  {r.get('fraction', 0):.0%}  "
            f"{r.get('elapsed', 0):.1f}s"
        )
    if not running:
        lines.append("running  nothing")
    lines.append(f"queue    {st.get('queue_length', 0)} waiting"
                 + (": " + ", ".join(st["queued"]) if st.get("queued") else ""))
    mem = st.get("memory", {})
    text = f"memory   {_mib(mem.get('rss_bytes'))} host"
    if "cuda_allocated_bytes" in mem:
        text += (f", {_mib(mem['cuda_allocated_bytes'])} GPU in use, "
                 f"{_mib(mem['cuda_reserved_bytes'])} reserved, "
                 f"{_mib(mem['cuda_free_bytes'])} free of {_mib(mem['cuda_total_bytes'])}")
    lines.append(text)
    jobs = st.get("jobs", {})
    lines.append(f"jobs     {jobs.get('completed', 0)} done, {jobs.get('failed', 0)} failed, "
                 f"{jobs.get('cancelled', 0)} cancelled")
    return "\n".join(lines)


def _mib(n: Any) -> str:
    return "?" if n is None else f"{n / 2**20:.0f} MiB"


def _duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def cancel_cmd(args: argparse.Namespace) -> int:
    if not 0 < len(args.job_id) <= P.MAX_ID_LENGTH:  # the daemon could not even name it back
        _err(f"a job id has 1 to {P.MAX_ID_LENGTH} characters, this one {len(args.job_id)}; "
             "`impasto status` lists the running and queued ids")
        return exit_codes.USAGE
    try:
        with _client(args) as c:
            done = c.cancel(args.job_id, timeout=max(args.timeout, 10.0))
    except DaemonUnavailable as exc:
        _err(str(exc))
        return exit_codes.DAEMON_UNAVAILABLE
    except DaemonError as exc:
        _err(exc.message)
        return exit_codes.FAILED
    if not done:
        _err(f"job {args.job_id} is not queued or running")
        return exit_codes.FAILED
    print(f"cancelled {args.job_id}")
    return exit_codes.OK


def stop_cmd(args: argparse.Namespace) -> int:
    try:
        with _client(args) as c:
            c.stop()
    except DaemonUnavailable as exc:
        _err(str(exc))
        return exit_codes.DAEMON_UNAVAILABLE
    except DaemonError as exc:
        _err(exc.message)
        return exit_codes.FAILED
    print("the daemon is stopping")
    return exit_codes.OK


def keys_cmd(args: argparse.Namespace) -> int:
    try:
        public, secret = create_key_pair(args.dir, args.name)
    except (CurveKeyError, OSError) as exc:
        _err(str(exc))
        return exit_codes.FAILED
    print(f"public key  {public}  (give this to the other side)")
    print(f"secret key  {secret}  (mode 0600; keep it private)")
    return exit_codes.OK


def _raw(pixels: np.ndarray) -> tuple[Image, np.ndarray]:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    return Image(w, h, c), pixels


def stylize_via_daemon(args: argparse.Namespace, settings: Any, bar: ProgressBar
                       ) -> tuple[int, np.ndarray | None]:
    """``impasto stylize`` through the daemon (started if needed): (exit code, RGBA or None).

    The input files are decoded only after the daemon's ``hello`` announced its pixel limit,
    so an image it would refuse is refused here from its header, quoting that limit.
    """
    endpoint = getattr(args, "endpoint", None) or configured_endpoint()
    try:
        if ensure_daemon(endpoint):
            _err(f"started the daemon at {endpoint} (log: {log_path()})")
    except DaemonUnavailable as exc:
        _err(str(exc))
        if isinstance(exc, DaemonExited) and exc.status == EXIT_WEIGHTS:
            return exit_codes.WEIGHTS, None
        return exit_codes.DAEMON_UNAVAILABLE, None
    job_id = None
    try:
        with Client(endpoint, name="impasto-cli") as c:
            welcome = c.hello()
            for m in welcome.get("models", []):
                if m.get("name") == settings.model and m.get("random"):
                    _err(f"warning: the daemon runs {m.get('label')}; the result shows no real "
                         "style")
            limits = c.limits or P.Limits()  # hello() has set it
            try:
                content, styles = read_inputs(args.content, args.styles, limits.max_pixels)
            except ImageFileError as exc:
                bar.fail(f"impasto: {exc}")
                return exc.exit_code, None
            image, pixels = _raw(content)
            job_id = c.submit([(image, pixels)],
                              [Style(*_raw(s)) for s in styles], settings.to_dict())
            try:
                ev = c.wait(job_id, on_progress=lambda e: bar.update(e.progress))
            except KeyboardInterrupt:
                c.cancel(job_id)
                bar.fail("impasto: cancelled")
                return exit_codes.CANCELLED, None
            out_image, frame = ev.images()[0]
            result = np.frombuffer(frame, np.uint8).reshape(out_image.shape).copy()
            bar.close(f"{done_line(ev.header['stats'][0])}, job {job_id}")
            return exit_codes.OK, result
    except JobCancelled as exc:
        bar.fail(f"impasto: {exc.message}")
        return exit_codes.CANCELLED, None
    except DaemonUnavailable as exc:
        bar.fail(f"impasto: {exc}")
        return exit_codes.DAEMON_UNAVAILABLE, None
    except DaemonError as exc:
        bar.fail(f"impasto: {exc.message}")
        return _EXIT_FOR_CODE.get(exc.code, exit_codes.FAILED), None
