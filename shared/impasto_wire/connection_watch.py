"""Why nothing answered: a ZeroMQ socket monitor tells apart nothing listening, something that
accepts connections but never completes the ZeroMQ handshake (a stopped daemon, another
program), a failed CurveZMQ handshake (keys), and a daemon that is connected but does not
answer (hung).
"""

from __future__ import annotations

import zmq
from zmq.utils.monitor import recv_monitor_message

from .client_errors import DaemonUnavailable

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
