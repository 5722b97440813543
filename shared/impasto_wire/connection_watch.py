"""Why nothing answered: a ZeroMQ socket monitor tells apart nothing listening, something that
accepts connections but never completes the ZeroMQ handshake (a stopped daemon, another
program), a failed CurveZMQ handshake (keys), and a daemon that is connected but does not
answer (hung). When a daemon goes silent during a job, it says "killed or crashed" only with
evidence (the local process it welcomed us from is gone, or its ipc socket is): a daemon that is
still running behind a cut connection (a network outage, a stopped proxy or tunnel) is called
unreachable, not dead (issue 19, item 15).
"""

from __future__ import annotations

import os

import zmq
from zmq.utils.monitor import recv_monitor_message

from .client_errors import DaemonUnavailable
from .endpoints import ipc_path

#: socket monitor events the diagnosis of an unanswered request reads
_MONITORED = (zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED
              | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
              | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


class ConnectionWatch:
    """The monitor of one client socket and what it has seen since the socket connected."""

    def __init__(self, sock: zmq.Socket, endpoint: str, curve: bool) -> None:
        self._sock, self.endpoint, self._curve = sock, endpoint, curve
        self._monitor = sock.get_monitor_socket(_MONITORED)
        self._seen_events: set[int] = set()
        self._daemon: tuple[int, str] | None = None  # (pid, start) of a local daemon process

    def welcomed(self, pid: object) -> None:
        """Remember the daemon's process when it runs on this machine, to tell later whether
        it died or only the connection to it did. A pid that names no local impasto process
        (a daemon reached through a tunnel, or in another container) is no evidence either way."""
        self._daemon = None
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 \
                and pid != os.getpid() and _names_impasto(pid):
            start = process_start(pid)
            if start is not None:
                self._daemon = (pid, start)

    def went_silent(self, quiet: float, jobs: str) -> DaemonUnavailable:
        """Why a daemon that was working for us has been silent for ``quiet`` seconds."""
        where, lost = self.endpoint, f"job(s) {jobs} are lost"
        silent = f"the impasto daemon at {where} stopped answering for {quiet:.1f} s"
        if self._daemon is not None:
            pid, start = self._daemon
            if process_start(pid) != start:
                return DaemonUnavailable(
                    f"{silent} and is no longer running (its process {pid} ended: killed or "
                    f"crashed?); {lost}", DaemonUnavailable.GONE)
            if process_stopped(pid):
                return DaemonUnavailable(
                    f"{silent}: its process {pid} is stopped (SIGSTOP or a debugger; continue "
                    f"it with `kill -CONT {pid}`); {lost}", DaemonUnavailable.HUNG)
            if ipc_path(where) is None:
                return DaemonUnavailable(
                    f"lost the connection to the impasto daemon at {where}: nothing heard for "
                    f"{quiet:.1f} s although it is still running (pid {pid}), so the link to "
                    f"it was cut (a proxy, tunnel or network) or it is hung; {lost}",
                    DaemonUnavailable.LOST)
            return DaemonUnavailable(
                f"{silent} although it is still running (pid {pid}): it is probably hung or "
                f"overloaded (see its log, or restart it); {lost}", DaemonUnavailable.HUNG)
        path = ipc_path(where)
        if path is not None:
            if not os.path.exists(path):
                return DaemonUnavailable(f"{silent} and its socket {path} is gone (the daemon "
                                         f"was stopped or killed); {lost}",
                                         DaemonUnavailable.GONE)
            return DaemonUnavailable(f"{silent} (killed, crashed or stopped?); {lost}",
                                     DaemonUnavailable.GONE)
        return DaemonUnavailable(
            f"lost the connection to the impasto daemon at {where}: nothing heard for "
            f"{quiet:.1f} s (a network outage, or the daemon is unreachable; it may still be "
            f"running, this client cannot tell); {lost}", DaemonUnavailable.LOST)

    def unavailable(self, waited: float) -> DaemonUnavailable:
        """Why nothing answered, as far as the socket monitor can tell."""
        self._read_monitor()
        seen, where = self._seen_events, self.endpoint
        if zmq.EVENT_HANDSHAKE_FAILED_AUTH in seen:
            return DaemonUnavailable(
                f"the impasto daemon at {where} refused this client's CurveZMQ key: add the "
                "public key of IMPASTO_CURVE_CLIENT_KEY to the daemon's --curve-allowed-keys "
                "folder", DaemonUnavailable.KEY_REFUSED)
        if seen & {zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL}:
            if self._curve:
                why = ("IMPASTO_CURVE_SERVER_KEY is probably not this daemon's public key, or the "
                       "daemon does not use CurveZMQ")
            else:
                why = ("the daemon probably requires CurveZMQ: set IMPASTO_CURVE_CLIENT_KEY and "
                       "IMPASTO_CURVE_SERVER_KEY")
            return DaemonUnavailable(f"the ZeroMQ handshake with {where} failed: {why}",
                                     DaemonUnavailable.HANDSHAKE)
        if zmq.EVENT_HANDSHAKE_SUCCEEDED in seen:
            return DaemonUnavailable(
                f"the impasto daemon at {where} is connected but did not answer within "
                f"{waited:.1f} s: it is probably hung or overloaded (see its log, or restart it)",
                DaemonUnavailable.HUNG)
        if zmq.EVENT_CONNECTED in seen:
            return DaemonUnavailable(
                f"something at {where} accepts connections but did not complete the ZeroMQ "
                f"handshake within {waited:.1f} s: a hung or stopped daemon, or another program "
                "on that port" + (" (or a CurveZMQ key mismatch)" if self._curve else ""),
                DaemonUnavailable.SILENT)
        return DaemonUnavailable(
            f"no impasto daemon is listening at {where} "
            "(start it with `impasto-daemon`, or set IMPASTO_ENDPOINT)", DaemonUnavailable.ABSENT)

    def _read_monitor(self) -> None:
        while True:
            try:
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:  # the monitor is gone (socket closing)
                return
            self._seen_events.add(int(event["event"]))

    def close(self) -> None:
        try:
            self._sock.disable_monitor()
        except zmq.ZMQError:
            pass
        self._monitor.close(0)


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first); None without it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data.rpartition(b")")[2].split()


def process_start(pid: int) -> str | None:
    """Something that names process ``pid`` for as long as it runs (its start time, so a
    reused pid differs); None when no such process runs or /proc cannot tell. A zombie (killed,
    not yet reaped) counts as ended."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) <= 19 or fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode("ascii", "replace")


def process_stopped(pid: int) -> bool:
    """True when process ``pid`` is stopped by a signal or a debugger (Linux /proc only)."""
    fields = _stat_fields(pid)
    return fields is not None and bool(fields) and fields[0] in (b"T", b"t")


def _names_impasto(pid: int) -> bool:
    """Whether ``pid`` is a local impasto process (Linux /proc; elsewhere no evidence)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"impasto" in f.read()
    except OSError:
        return False
