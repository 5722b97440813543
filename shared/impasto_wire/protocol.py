"""The Impasto wire protocol, written once and imported by both ends.

A message is a ZeroMQ multipart: ``[header, *frames]``. The header is a msgpack map that always
carries ``v`` (protocol version), ``type`` and ``id``; the frames are raw bytes (pixels, or encoded
style images) described by the header, so pixels are never serialised and can travel without
copies. Everything a peer sends is validated here, cheaply and *before* anything is allocated for
it: header size, schema, limits, frame count and every frame's length. Never pickle.

Standard library + msgpack only (zmq objects are accepted duck-typed), Python 3.9+.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import msgpack

from . import limits as L
from .errors import (
    BAD_FRAMES,
    BAD_HEADER,
    BAD_IMAGE,
    BAD_REQUEST,
    BAD_VERSION,
    BUSY,
    DIVERGED,
    ERROR_CODES,
    FORBIDDEN,
    ID_IN_USE,
    INTERNAL,
    OOM,
    SHUTTING_DOWN,
    TOO_LARGE,
    UNKNOWN_JOB,
    UNKNOWN_TYPE,
    UNSUPPORTED_FORMAT,
    ProtocolError,
)
from .images import (
    DTYPES,
    ENCODINGS,
    AnyImage,
    EncodedImage,
    Image,
    image_from_dict,
    is_int,
    parse_image,
)
from .progress import SCHEMA as PROGRESS_SCHEMA

#: 2: one ProgressEvent in progress headers; job ids bound to their client; ping/pong carry
#: job states; tokens for privileged requests on TCP; max_queued_bytes. Later, still 2 (optional
#: fields an older peer never sends): hello's challenge answered by welcome's nonce and proof
PROTOCOL_VERSION = 2


class MessageType(str, enum.Enum):
    """A message's ``type``. str-valued: a member is the very string on the wire, so peers that
    compare plain strings interoperate with those that compare members."""

    # requests (client -> daemon)
    HELLO = "hello"
    STYLIZE = "stylize"
    CANCEL = "cancel"
    STATUS = "status"
    STOP = "stop"
    PING = "ping"
    BYE = "bye"
    ECHO = "echo"  # diagnostic: frames go back unchanged (measures protocol overhead)
    # replies and events (daemon -> client)
    WELCOME = "welcome"
    ACCEPTED = "accepted"
    PROGRESS = "progress"
    RESULT = "result"
    ERROR = "error"
    CANCELLED = "cancelled"
    STATUS_REPLY = "status_reply"
    STOPPING = "stopping"
    PONG = "pong"
    ECHOED = "echoed"

    def __str__(self) -> str:
        return self.value


_M = MessageType
REQUEST_TYPES = frozenset(
    {_M.HELLO, _M.STYLIZE, _M.CANCEL, _M.STATUS, _M.STOP, _M.PING, _M.BYE, _M.ECHO})
REPLY_TYPES = frozenset(MessageType) - REQUEST_TYPES
#: a job's stream ends with exactly one of these
TERMINAL_TYPES = frozenset({_M.RESULT, _M.ERROR, _M.CANCELLED})

MAX_ID_LENGTH = L.MAX_ID_LENGTH
MAX_PREVIEW_SIZE = L.MAX_PREVIEW_SIZE
#: job ids one ping may ask about
MAX_PING_JOBS = 64


@dataclass(frozen=True)
class Limits:
    """What the daemon accepts; announced in ``welcome`` and enforced on every request.

    ``max_message_bytes`` is also the ROUTER's ``zmq.MAXMSGSIZE`` (ZeroMQ applies it per frame and
    drops the connection of a peer that exceeds it, before allocating); the daemon additionally
    checks the sum of all frames against it. ``max_queued_bytes`` bounds the payloads held by
    all accepted, unfinished jobs together (beyond it a submit is answered ``busy``).
    """

    max_message_bytes: int = L.MAX_MESSAGE_BYTES
    max_pixels: int = L.MAX_PIXELS
    max_styles: int = L.MAX_STYLES
    max_layers: int = L.MAX_LAYERS
    max_iterations: int = L.MAX_ITERATIONS
    max_header_bytes: int = L.MAX_HEADER_BYTES
    max_queue: int = L.MAX_QUEUE
    max_queued_bytes: int = L.MAX_QUEUED_BYTES

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Limits:
        """Tolerant of unknown keys, so a newer daemon's welcome still parses."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in d.items() if k in known})

    @property
    def max_frames(self) -> int:
        return self.max_layers + self.max_styles + 1




# --- header schemas ---

_NUM = (int, float)
# type -> {field: (accepted python types, required)}; v/type/id are common to all.
_SCHEMAS: dict[MessageType, dict[str, tuple[tuple, bool]]] = {
    # challenge/nonce/proof: the daemon proves it holds the token (daemon_proof.py)
    _M.HELLO: {"client": ((str,), False), "challenge": ((bytes,), False)},
    _M.STYLIZE: {
        "contents": ((list,), True),
        "styles": ((list,), True),
        "settings": ((dict,), False),
        "preview": ((int,), False),
    },
    _M.CANCEL: {"token": ((str,), False)},
    _M.STATUS: {"token": ((str,), False)},
    _M.STOP: {"token": ((str,), False)},
    _M.PING: {"jobs": ((list,), False)},
    _M.BYE: {},
    _M.ECHO: {"images": ((list,), True)},
    _M.WELCOME: {
        "daemon_version": ((str,), True),
        "protocol": ((int,), True),
        "device": ((str,), True),
        "devices": ((list,), True),
        "models": ((list,), True),
        "limits": ((dict,), True),
        "encodings": ((list,), False),
        "pid": ((int,), False),
        "nonce": ((bytes,), False),
        "proof": ((bytes,), False),
    },
    _M.ACCEPTED: {"position": ((int,), True), "duplicate": ((bool,), False)},
    _M.PROGRESS: PROGRESS_SCHEMA,
    _M.RESULT: {"images": ((list,), True), "stats": ((list,), True), "seconds": (_NUM, False)},
    _M.ERROR: {"code": ((str,), True), "message": ((str,), True)},
    _M.CANCELLED: {"reason": ((str,), False), "message": ((str,), False)},
    _M.STATUS_REPLY: {},
    _M.STOPPING: {},
    _M.PONG: {"jobs": ((dict,), False)},
    _M.ECHOED: {"images": ((list,), True)},
}


def _type_ok(value: Any, types: tuple) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, float) and float in types:
        return math.isfinite(value)
    return isinstance(value, types)


def make_header(msg_type: MessageType, msg_id: str, **fields_: Any) -> dict[str, Any]:
    """A header map for ``msg_type``; fields whose value is None are left out."""
    h: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": str(msg_type), "id": msg_id}
    h.update((k, v) for k, v in fields_.items() if v is not None)
    return h


def error_header(msg_id: str, code: str, message: str) -> dict[str, Any]:
    return make_header(_M.ERROR, msg_id, code=code, message=message)


def check_id(msg_id: Any, what: str = "id") -> str:
    """A usable message or job id, else ProtocolError; the client checks its own ids with it
    before sending, so an impossible id is refused at once instead of after a timeout."""
    if not isinstance(msg_id, str) or not msg_id or len(msg_id) > MAX_ID_LENGTH:
        shown = f"{len(msg_id)} characters" if isinstance(msg_id, str) and msg_id else "empty"
        if not isinstance(msg_id, str):
            shown = type(msg_id).__name__
        raise ProtocolError(BAD_REQUEST, f"{what} must be a non-empty string of at most "
                            f"{MAX_ID_LENGTH} characters (got {shown})")
    return msg_id


# --- encode / decode ---


@dataclass
class Message:
    """A decoded message: the header map and its raw frames as read-only buffers."""

    header: dict[str, Any]
    frames: list[memoryview]
    #: the ZeroMQ parts as received (keep them alive while the frames are used)
    parts: Sequence[Any] = ()

    @property
    def type(self) -> MessageType:
        return MessageType(self.header["type"])

    @property
    def id(self) -> str:
        return self.header["id"]

    def images(self, key: str = "images") -> list[tuple[AnyImage, memoryview]]:
        """Pair each image description under ``key`` with its frame."""
        return [(image_from_dict(d), f) for d, f in zip(self.header.get(key, ()), self.frames)]


def pack_header(header: Mapping[str, Any]) -> bytes:
    return msgpack.packb(header, use_bin_type=True)


def encode(header: Mapping[str, Any], frames: Sequence[Any] = ()) -> list[Any]:
    """Multipart parts for ``send_multipart(parts, copy=False)``: frames are passed through as
    given (bytes, memoryview, numpy arrays, zmq.Frame), so large pixels are not copied here."""
    parts: list[Any] = [pack_header(header)]
    for f in frames:
        parts.append(f)
    return parts


def _buffer(part: Any) -> memoryview:
    buf = getattr(part, "buffer", None)  # zmq.Frame received with copy=False
    if buf is None:
        buf = memoryview(part)
    if buf.ndim != 1 or buf.itemsize != 1:
        buf = buf.cast("B")
    return buf


def _unpack(raw: memoryview, limits: Limits) -> Any:
    n = limits.max_header_bytes
    try:
        return msgpack.unpackb(
            raw, raw=False, strict_map_key=True, use_list=True,
            max_str_len=n, max_bin_len=n, max_array_len=n, max_map_len=n, max_ext_len=0,
        )
    except msgpack.ExtraData:
        raise ProtocolError(BAD_HEADER,
                            "header has trailing bytes (not a single msgpack map)") from None
    except Exception as exc:  # msgpack raises several types for corrupt or truncated input
        raise ProtocolError(BAD_HEADER,
                            f"header is not valid msgpack ({type(exc).__name__})") from None


def decode(parts: Sequence[Any], limits: Limits | None = None, *,
           expect: str = "request") -> Message:
    """Validate and decode ``[header, *frames]``; raises ProtocolError (with ``job_id`` when known).

    ``expect`` is "request" (daemon side: strict, limits enforced, unknown fields refused) or
    "reply" (client side: unknown fields tolerated for forward compatibility).
    """
    lim = limits or Limits()
    if not parts:
        raise ProtocolError(BAD_HEADER, "empty message")
    if len(parts) - 1 > lim.max_frames:
        raise ProtocolError(BAD_FRAMES,
                            f"{len(parts) - 1} frames is more than the {lim.max_frames} allowed")
    raw = _buffer(parts[0])
    if len(raw) > lim.max_header_bytes:
        raise ProtocolError(TOO_LARGE, f"header of {len(raw)} bytes exceeds {lim.max_header_bytes}")
    header = _unpack(raw, lim)
    if not isinstance(header, dict):
        raise ProtocolError(BAD_HEADER,
                            f"header must be a msgpack map, got {type(header).__name__}")
    msg_id = header.get("id")
    job_id = msg_id if isinstance(msg_id, str) and len(msg_id) <= MAX_ID_LENGTH else ""
    v = header.get("v")
    if not is_int(v):
        raise ProtocolError(BAD_HEADER, "header lacks an integer protocol version 'v'", job_id)
    if v != PROTOCOL_VERSION:
        raise ProtocolError(
            BAD_VERSION, f"protocol version {v} is not supported: this end speaks version "
            f"{PROTOCOL_VERSION} (update the older of the client and the daemon)", job_id,
        )
    msg_type = header.get("type")
    if not isinstance(msg_type, str):
        raise ProtocolError(BAD_HEADER, "header lacks a string 'type'", job_id)
    # an error about a message whose id could not be read carries the empty id
    empty_ok = expect == "reply" and msg_type == _M.ERROR
    if not (empty_ok and msg_id == ""):
        try:
            check_id(msg_id, "'id'")
        except ProtocolError as exc:
            raise ProtocolError(BAD_HEADER, exc.message, job_id) from None
    allowed = REQUEST_TYPES if expect == "request" else REPLY_TYPES
    if msg_type not in allowed:
        raise ProtocolError(UNKNOWN_TYPE, f"unknown message type {msg_type[:64]!r}", job_id)
    _check_fields(header, MessageType(msg_type), strict=(expect == "request"), job_id=job_id)
    frames = [_buffer(p) for p in parts[1:]]
    try:
        sizes = _expected_frame_sizes(header, lim if expect == "request" else None)
    except ProtocolError as exc:
        exc.job_id = job_id
        raise
    _check_frames(frames, sizes, lim if expect == "request" else None, job_id)
    return Message(header, frames, parts)


def _check_fields(header: dict[str, Any], msg_type: MessageType, *, strict: bool,
                  job_id: str) -> None:
    schema = _SCHEMAS[msg_type]
    for name, (types, required) in schema.items():
        if name not in header:
            if required:
                raise ProtocolError(BAD_HEADER, f"{msg_type}: missing field {name!r}", job_id)
            continue
        if not _type_ok(header[name], types):
            kinds = "/".join(t.__name__ for t in types)
            raise ProtocolError(BAD_HEADER, f"{msg_type}: field {name!r} must be {kinds}", job_id)
    if strict:
        unknown = set(header) - set(schema) - {"v", "type", "id"}
        if unknown:
            names = ", ".join(sorted(map(str, unknown)))
            raise ProtocolError(BAD_REQUEST, f"{msg_type}: unknown field(s) {names}", job_id)


def _expected_frame_sizes(header: dict[str, Any], lim: Limits | None) -> list[int]:
    """The exact byte length of every frame the header announces (limits checked on the way)."""
    t = header["type"]
    if t == _M.STYLIZE:
        contents, styles = header["contents"], header["styles"]
        if lim is not None:
            if not 1 <= len(contents) <= lim.max_layers:
                raise ProtocolError(TOO_LARGE if contents else BAD_REQUEST,
                                    f"stylize needs 1 to {lim.max_layers} contents, "
                                    f"got {len(contents)}")
            if not 1 <= len(styles) <= lim.max_styles:
                raise ProtocolError(TOO_LARGE if styles else BAD_REQUEST,
                                    f"stylize needs 1 to {lim.max_styles} styles, "
                                    f"got {len(styles)}")
            _check_settings_limits(header.get("settings", {}), lim)
            p = header.get("preview", 0)
            if not 0 <= p <= MAX_PREVIEW_SIZE:
                raise ProtocolError(BAD_REQUEST, f"preview must be 0..{MAX_PREVIEW_SIZE}")
        sizes = [parse_image(d, lim, what=f"content {i}").nbytes for i, d in enumerate(contents)]
        for i, d in enumerate(styles):
            sizes.append(parse_image(d, lim, encoded_ok=True, what=f"style {i}").nbytes)
            if isinstance(d, dict) and "weight" in d:
                w = d["weight"]
                if not _type_ok(w, _NUM) or w < 0:
                    raise ProtocolError(BAD_REQUEST,
                                        f"style {i}: weight must be a finite number >= 0")
        return sizes
    if t in (_M.ECHO, _M.ECHOED, _M.RESULT):
        images = header["images"]
        if lim is not None and len(images) > lim.max_layers:
            raise ProtocolError(TOO_LARGE, f"{len(images)} images is more than {lim.max_layers}")
        return [parse_image(d, lim, what=f"image {i}").nbytes for i, d in enumerate(images)]
    if t == _M.PROGRESS and "preview" in header:
        return [parse_image(header["preview"], lim, what="preview").nbytes]
    if t == _M.PING and lim is not None:
        jobs = header.get("jobs", [])
        if len(jobs) > MAX_PING_JOBS:
            raise ProtocolError(TOO_LARGE, f"ping asks about {len(jobs)} jobs, at most "
                                f"{MAX_PING_JOBS} are answered")
        for j in jobs:
            check_id(j, "a job id in ping")
    return []


def _check_settings_limits(settings: dict[str, Any], lim: Limits) -> None:
    for k in settings:
        if not isinstance(k, str):
            raise ProtocolError(BAD_HEADER, "settings keys must be strings")
    it = settings.get("iterations")
    if it is not None and is_int(it) and it > lim.max_iterations:
        raise ProtocolError(TOO_LARGE,
                            f"iterations={it} exceeds the limit of {lim.max_iterations}")


def _check_frames(frames: list[memoryview], sizes: list[int], lim: Limits | None,
                  job_id: str) -> None:
    if len(frames) != len(sizes):
        raise ProtocolError(BAD_FRAMES, f"header describes {len(sizes)} frame(s) but "
                            f"{len(frames)} arrived", job_id)
    total = 0
    for i, (f, n) in enumerate(zip(frames, sizes)):
        if len(f) != n:
            raise ProtocolError(BAD_FRAMES, f"frame {i + 1} has {len(f)} bytes, the header "
                                f"says {n}", job_id)
        total += n
    if lim is not None and total > lim.max_message_bytes:
        raise ProtocolError(TOO_LARGE, f"message of {total} bytes exceeds the limit of "
                            f"{lim.max_message_bytes}", job_id)


__all__ = [  # the error codes and image descriptions are re-exported: both ends say P.<name>
    "BAD_FRAMES", "BAD_HEADER", "BAD_IMAGE", "BAD_REQUEST", "BAD_VERSION", "BUSY", "DIVERGED",
    "DTYPES", "ENCODINGS", "ERROR_CODES", "FORBIDDEN", "ID_IN_USE", "INTERNAL", "MAX_ID_LENGTH",
    "MAX_PING_JOBS", "MAX_PREVIEW_SIZE", "OOM", "PROTOCOL_VERSION", "REPLY_TYPES",
    "REQUEST_TYPES", "SHUTTING_DOWN", "TERMINAL_TYPES", "TOO_LARGE", "UNKNOWN_JOB",
    "UNKNOWN_TYPE", "UNSUPPORTED_FORMAT", "AnyImage", "EncodedImage", "Image", "Limits",
    "Message", "MessageType", "ProtocolError", "check_id", "decode", "encode", "error_header",
    "image_from_dict", "make_header", "pack_header", "parse_image",
]
