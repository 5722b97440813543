"""The error codes of the wire protocol: stable and machine-readable (the message beside each
is for people), and the exception that carries one.

Standard library only, Python 3.9+.
"""

from __future__ import annotations

BAD_VERSION = "bad_version"  # header.v differs from PROTOCOL_VERSION
BAD_HEADER = "bad_header"  # not a msgpack map, truncated, wrong field types (a pickle lands here)
UNKNOWN_TYPE = "unknown_type"
BAD_REQUEST = "bad_request"  # well-formed but meaningless: bad settings, unknown field
BAD_FRAMES = "bad_frames"  # frame count or a frame length disagrees with the header
TOO_LARGE = "too_large"  # over a limit (pixels, bytes, styles, layers, iterations, bombs)
BAD_IMAGE = "bad_image"  # an encoded style image that cannot be decoded
UNSUPPORTED_FORMAT = "unsupported_format"  # an encoding outside the allow-list
UNKNOWN_JOB = "unknown_job"
BUSY = "busy"  # queue full, or the queued requests hold too many bytes
FORBIDDEN = "forbidden"  # stop, status details or others' jobs without proof of the same user
ID_IN_USE = "id_in_use"  # another request (or another client) already used this job id
SHUTTING_DOWN = "shutting_down"
OOM = "oom"  # device out of memory; the message suggests a smaller size
DIVERGED = "diverged"
INTERNAL = "internal"

ERROR_CODES = frozenset(
    {
        BAD_VERSION, BAD_HEADER, UNKNOWN_TYPE, BAD_REQUEST, BAD_FRAMES, TOO_LARGE, BAD_IMAGE,
        UNSUPPORTED_FORMAT, UNKNOWN_JOB, BUSY, FORBIDDEN, ID_IN_USE, SHUTTING_DOWN, OOM, DIVERGED,
        INTERNAL,
    }
)


class ProtocolError(Exception):
    """A message was refused; ``code`` is one of ERROR_CODES, ``job_id`` the id when known."""

    def __init__(self, code: str, message: str, job_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.job_id = job_id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
