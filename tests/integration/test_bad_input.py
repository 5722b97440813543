"""Hostile and broken input over a bare socket: every message gets a clear error (or, past
ZeroMQ's MAXMSGSIZE, the connection is dropped) and the daemon keeps serving."""

from __future__ import annotations

import io
import pickle
import struct
import zlib

import msgpack
import numpy as np
import pytest
from daemon_support import RawPeer, picture
from PIL import Image as PILImage

from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M


def stylize(content=(4, 3, 4), styles=(((2, 2, 3), None),), settings=None, frames=None,
            job_id="bad-job", **extra):
    w, h, c = content
    style_descs, style_frames = [], []
    for desc, data in styles:
        if isinstance(desc, dict):
            style_descs.append(desc)
        else:
            style_descs.append(P.Image(*desc).to_dict())
            data = bytes(desc[0] * desc[1] * desc[2])
        style_frames.append(data)
    header = P.make_header(M.STYLIZE, job_id, contents=[P.Image(w, h, c).to_dict()],
                           styles=style_descs, settings=settings or {"iterations": 1}, **extra)
    if frames is None:
        frames = [bytes(w * h * c)] + style_frames
    return P.encode(header, frames)


def error_of(peer: RawPeer, parts) -> P.Message:
    msg = peer.ask(parts)
    assert msg.type == M.ERROR, msg.header
    return msg


@pytest.fixture(autouse=True)
def still_serving(peer):
    """After each hostile message the daemon must still answer hello."""
    yield
    assert peer.ask(P.encode(P.make_header(M.HELLO, "still-there"))).type == M.WELCOME


def test_other_protocol_version(peer):
    msg = error_of(peer, [msgpack.packb({"v": 99, "type": "hello", "id": "h"})])
    assert msg.header["code"] == P.BAD_VERSION and msg.id == "h"
    assert "99" in msg.header["message"] and str(P.PROTOCOL_VERSION) in msg.header["message"]


@pytest.mark.parametrize("raw", [
    b"\x00\x01garbage\xff",
    msgpack.packb({"v": 1, "type": "stylize", "id": "x", "contents": []})[:-4],
    pickle.dumps({"v": 1, "type": "hello", "id": "p"}),
    pickle.dumps(print),
], ids=["garbage", "truncated", "pickled-dict", "pickled-callable"])
def test_garbage_truncated_and_pickled_headers(peer, raw):
    msg = error_of(peer, [raw])
    assert msg.header["code"] == P.BAD_HEADER


def test_unknown_type(peer):
    assert error_of(peer, P.encode(P.make_header("exec", "u")))\
        .header["code"] == P.UNKNOWN_TYPE


def test_wrong_frame_lengths(peer):
    parts = stylize()
    parts[1] = parts[1][:-1]
    msg = error_of(peer, parts)
    assert msg.header["code"] == P.BAD_FRAMES and msg.id == "bad-job"
    assert error_of(peer, stylize()[:-1]).header["code"] == P.BAD_FRAMES
    assert error_of(peer, stylize() + [b"extra"]).header["code"] == P.BAD_FRAMES


def test_header_announcing_a_huge_image_is_refused_without_allocating(peer):
    parts = stylize(content=(100_000, 100_000, 4), frames=[b"", b""])
    msg = error_of(peer, parts)
    assert msg.header["code"] == P.TOO_LARGE and "pixels" in msg.header["message"]


def test_total_size_over_the_limit(peer):
    # five 1 MiB layers: each frame is fine, together they exceed max_message_bytes (4 MiB)
    layer = P.Image(512, 512, 4)
    header = P.make_header(M.STYLIZE, "big", contents=[layer.to_dict()] * 5,
                           styles=[P.Image(2, 2, 3).to_dict()], settings={})
    msg = error_of(peer, P.encode(header, [bytes(layer.nbytes)] * 5 + [bytes(12)]))
    assert msg.header["code"] == P.TOO_LARGE and "bytes" in msg.header["message"]


def test_oversized_frame_drops_the_connection_and_the_daemon_carries_on(daemon, peer):
    peer.send(stylize(frames=[bytes(5 * 2**20), bytes(12)]))  # one frame > MAXMSGSIZE (4 MiB)
    assert peer.recv(timeout=1.0) is None  # ZeroMQ cut it off before allocating
    other = RawPeer(daemon.endpoint)
    try:
        assert other.ask(P.encode(P.make_header(M.HELLO, "h2"))).type == M.WELCOME
    finally:
        other.close()


def test_too_many_styles_and_iterations(peer):
    many = tuple(((2, 2, 3), None) for _ in range(9))
    assert error_of(peer, stylize(styles=many)).header["code"] == P.TOO_LARGE
    msg = error_of(peer, stylize(settings={"iterations": 6000}))
    assert msg.header["code"] == P.TOO_LARGE and "5000" in msg.header["message"]


def test_bad_settings_and_models(peer):
    msg = error_of(peer, stylize(settings={"iterations": 1, "optimiser": "sgd"}))
    assert msg.header["code"] == P.BAD_REQUEST and "optimiser" in msg.header["message"]
    msg = error_of(peer, stylize(settings={"iterations": 1, "model": "vgg16"}))
    assert msg.header["code"] == P.BAD_REQUEST and "vgg16" in msg.header["message"]
    msg = error_of(peer, stylize(settings={"iterations": 1, "size": -3}))
    assert msg.header["code"] == P.BAD_REQUEST


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def bomb_png(side: int = 60_000) -> bytes:
    """A valid little PNG that claims side x side pixels: gigabytes once decoded."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    row = b"\0" + bytes(side)
    idat = zlib.compress(row * 64, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def test_decompression_bomb_png(peer):
    data = bomb_png()
    assert len(data) < 200_000
    msg = error_of(peer, stylize(styles=(({"encoding": "png", "bytes": len(data)}, data),)))
    assert msg.header["code"] == P.TOO_LARGE and "bomb" in msg.header["message"]


def test_the_bomb_message_quotes_the_daemons_pixel_limit_not_pillows(peer):
    data = bomb_png()
    msg = error_of(peer, stylize(styles=(({"encoding": "png", "bytes": len(data)}, data),)))
    assert str(512 * 512) in msg.header["message"]  # the shared daemon's --max-pixels
    assert str(2 * 512 * 512) not in msg.header["message"]  # Pillow's own threshold


def test_a_bomb_just_over_the_limit_is_also_refused(peer):
    buf = io.BytesIO()
    PILImage.new("L", (600, 600)).save(buf, "PNG")  # 360000 px > 512*512, < 2x Pillow's guard
    data = buf.getvalue()
    msg = error_of(peer, stylize(styles=(({"encoding": "png", "bytes": len(data)}, data),)))
    assert msg.header["code"] == P.TOO_LARGE


def test_undecodable_and_mislabelled_style_files(peer):
    junk = b"\x89PNG\r\n\x1a\nnot really"
    msg = error_of(peer, stylize(styles=(({"encoding": "png", "bytes": len(junk)}, junk),)))
    assert msg.header["code"] == P.BAD_IMAGE
    buf = io.BytesIO()
    PILImage.fromarray(picture(8, 8, 3)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    msg = error_of(peer, stylize(styles=(({"encoding": "png", "bytes": len(jpeg)}, jpeg),)))
    assert msg.header["code"] == P.BAD_IMAGE  # a JPEG is not decoded as a PNG
    gif = b"GIF89a" + bytes(20)
    msg = error_of(peer, stylize(styles=(({"encoding": "gif", "bytes": len(gif)}, gif),)))
    assert msg.header["code"] == P.UNSUPPORTED_FORMAT


def test_echo_returns_the_frames_unchanged(peer):
    img = picture(3, 5, 4)
    msg = peer.ask(P.encode(P.make_header(M.ECHO, "e", images=[P.Image(5, 3, 4).to_dict()]),
                            [img.tobytes()]))
    assert msg.type == M.ECHOED and bytes(msg.frames[0]) == img.tobytes()
    assert np.array_equal(np.frombuffer(msg.frames[0], np.uint8).reshape(3, 5, 4), img)
