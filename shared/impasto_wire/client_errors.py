"""What a client raises: the daemon is not there (or died), or it answered with an error.

Standard library only.
"""

from __future__ import annotations


class DaemonUnavailable(Exception):
    """Nothing answers at the endpoint, or the daemon went silent (died) during a job."""


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
