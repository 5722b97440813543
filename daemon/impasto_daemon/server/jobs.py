"""A job: what was asked, who asked, and where it stands; and how a stylize request becomes one.

Jobs are created by the socket thread (``build_job``) and change state only inside ``JobTable``
(job_table.py), under its lock; a worker sees a job only after ``JobTable.next_job`` handed it
over, and a cancel reaches it through ``Job.cancel`` (an Event the engine checks every step).
Plain data: nothing here loads the engine (or torch).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from impasto_wire import protocol as P
from impasto_wire.progress import ProgressEvent

from ..model_advice import model_not_loaded
from ..settings import StyleSettings
from .style_decode import probe_encoded, raw_pixels

if TYPE_CHECKING:
    from ..engine import StyleStats

QUEUED, RUNNING, DONE = "queued", "running", "done"


@dataclass(frozen=True)
class Requester:
    """Who sent a message: the routing id of its connection, the CurveZMQ public key it
    authenticated with (None without CURVE), whether it proved to be the daemon's own user
    (ipc in the private folder, or the token of the 0600 token file), and the uid of the
    process at the other end where the system says (peers.py; None otherwise)."""

    identity: bytes
    key: str | None = None
    admin: bool = False
    peer: int | None = None


@dataclass
class StyleInput:
    """A style image as it arrived: raw pixels (``pixels``) or an encoded file (``encoded``)."""

    pixels: np.ndarray | None = None
    encoding: str | None = None
    encoded: memoryview | None = None


@dataclass
class Job:
    id: str
    owner: bytes  # ZeroMQ routing id of the client that gets the progress and the result
    contents: list[np.ndarray]
    styles: list[StyleInput]
    settings: StyleSettings
    key: str | None = None  # the owner's CurveZMQ public key, if any
    peer: int | None = None  # the owner's uid, where known (a routing id alone proves nothing)
    digest: bytes = b""  # of the request (header + frames): a retry must be the same request
    nbytes: int = 0  # payload bytes this job holds until it ends (the queued-bytes limit)
    preview: int = 0
    layers: int = 1
    parts: Sequence[Any] = ()  # the received zmq frames the arrays above point into
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str | None = None
    cancel_detail: str = ""  # for people: why, e.g. "this client was silent for 12 s"
    cancellers: set[bytes] = field(default_factory=set)  # other clients waiting for the cancel
    state: str = QUEUED
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    progress: ProgressEvent | None = None  # last progress state sent (heartbeats repeat it)
    last_sent: float = field(default_factory=time.monotonic)

    def request_cancel(self, reason: str, detail: str = "") -> None:
        if self.cancel_reason is None:
            self.cancel_reason, self.cancel_detail = reason, detail
        self.cancel.set()

    @property
    def last_progress(self) -> ProgressEvent:
        """The last progress sent, or the state before the first (heartbeats repeat it)."""
        return self.progress or ProgressEvent(layers=self.layers)

    def release_inputs(self) -> None:
        """Drop the pixel buffers as soon as they are no longer needed."""
        self.contents, self.styles, self.parts = [], [], ()


def request_digest(msg: P.Message) -> bytes:
    """What a retry must repeat exactly: the header bytes and every frame."""
    h = hashlib.blake2b(digest_size=32)
    for part in (P.pack_header(msg.header), *msg.frames):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.digest()


def build_job(who: Requester, msg: P.Message, digest: bytes, max_pixels: int,
              models: set[str], *, now: float) -> Job:
    """The job a ``stylize`` message (already checked by ``protocol.decode``) asks for; raises
    ProtocolError for settings the engine would refuse or a model this daemon has not loaded.
    ``now`` (the router's clock) stamps its submission: heartbeats and the client-silence check
    compare it with that clock."""
    h = msg.header
    contents_d, styles_d = h["contents"], h["styles"]
    settings = dict(h.get("settings", {}))
    weights = [float(d.get("weight", 1.0)) for d in styles_d]
    if "style_blend" not in settings and any(w != 1.0 for w in weights):
        settings["style_blend"] = weights
    try:
        st = StyleSettings.from_dict(settings)
        st.blend_for(len(styles_d))
    except ValueError as exc:
        raise P.ProtocolError(P.BAD_REQUEST, str(exc)) from None
    if st.model not in models:
        raise P.ProtocolError(P.BAD_REQUEST, model_not_loaded(st.model, models))
    frames = msg.frames
    contents = [raw_pixels(P.image_from_dict(d), f) for d, f in zip(contents_d, frames)]
    styles = []
    for d, f in zip(styles_d, frames[len(contents_d):]):
        im = P.image_from_dict(d)
        if isinstance(im, P.EncodedImage):
            probe_encoded(f, im.encoding, max_pixels)
            styles.append(StyleInput(encoding=im.encoding, encoded=f))
        else:
            styles.append(StyleInput(pixels=raw_pixels(im, f)))
    return Job(id=msg.id, owner=who.identity, key=who.key, peer=who.peer, digest=digest,
               nbytes=sum(len(f) for f in frames), contents=contents, styles=styles,
               settings=st, preview=int(h.get("preview", 0)), parts=msg.parts,
               layers=len(contents), submitted=now, last_sent=now)


def result_header(job_id: str, images: list[np.ndarray], stats: list[StyleStats],
                  seconds: float) -> dict[str, Any]:
    """The ``result`` of a finished job: one image description per layer (the pixels follow as
    frames) and the engine's statistics for each."""
    return P.make_header(
        P.MessageType.RESULT, job_id,
        images=[P.Image(a.shape[1], a.shape[0], a.shape[2]).to_dict() for a in images],
        stats=[_plain(dict(dataclasses.asdict(s),
                           peak_bytes_per_megapixel=s.peak_bytes_per_megapixel))
               for s in stats],
        seconds=seconds,
    )


def _plain(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python numbers: what msgpack can carry."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
