"""What a client raises: the daemon is not there (or died), or it answered with an error.

Standard library only.
"""

from __future__ import annotations


class DaemonUnavailable(Exception):
    """Nothing answers at the endpoint, or the daemon went silent (died) during a job.

    ``kind`` says what was found there, for callers that act on it (only ``ABSENT`` means a
    daemon may be started there): see connection_watch.py."""

    ABSENT = "absent"  # nothing listens
    SILENT = "silent"  # something accepts connections but never speaks ZeroMQ
    KEY_REFUSED = "key_refused"  # the daemon refused our CurveZMQ key
    HANDSHAKE = "handshake"  # the ZeroMQ handshake failed (CurveZMQ on one side only, wrong key)
    HUNG = "hung"  # connected and handshaken, but no answer
    NOT_OURS = "not_ours"  # it answered but could not prove it is our daemon
    GONE = "gone"  # the daemon went silent during a job and is gone (or may be: ipc, no pid)
    LOST = "lost"  # a TCP daemon went silent during a job, with no evidence that it died
    OTHER = "other"  # cannot be started, configuration, ...

    def __init__(self, message: str, kind: str = OTHER) -> None:
        super().__init__(message)
        self.kind = kind


class DaemonNotProven(DaemonUnavailable):
    """Something answers at a TCP endpoint but cannot prove it is the daemon whose token this
    user holds (daemon_proof.py): nothing private was sent to it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, DaemonUnavailable.NOT_OURS)


class DaemonError(Exception):
    """The daemon answered with an ``error``: ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, job_id: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.job_id = job_id


class JobCancelled(DaemonError):
    """The job ended with ``cancelled`` (by a client, or because its client vanished);
    ``reason`` is the daemon's word for why ("cancel", "client_gone", ...)."""

    def __init__(self, code: str, message: str, job_id: str = "", reason: str = "cancel") -> None:
        super().__init__(code, message, job_id)
        self.reason = reason
