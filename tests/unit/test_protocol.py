"""The wire protocol on its own: encode/decode, schemas, limits, frame checks, endpoints, keys."""

from __future__ import annotations

import os
import pickle
import stat

import msgpack
import pytest

from impasto_wire import endpoints as E
from impasto_wire import protocol as P
from impasto_wire.curve import CurveKeyError, create_key_pair, load_public_key, load_secret_key
from impasto_wire.protocol import MessageType as M

SMALL = P.Limits(max_message_bytes=1 << 20, max_pixels=64 * 64, max_styles=2, max_layers=2,
                 max_iterations=50)


def stylize_parts(contents=((4, 3, 4),), styles=((2, 2, 3),), settings=None, **extra):
    header = P.make_header(
        M.STYLIZE, "job-1",
        contents=[P.Image(w, h, c).to_dict() for w, h, c in contents],
        styles=[dict(P.Image(w, h, c).to_dict(), weight=1.0) for w, h, c in styles],
        settings=settings if settings is not None else {"iterations": 5},
        **extra,
    )
    frames = [bytes(w * h * c) for w, h, c in list(contents) + list(styles)]
    return P.encode(header, frames)


def refused(parts, limits=SMALL, expect="request"):
    with pytest.raises(P.ProtocolError) as info:
        P.decode(parts, limits, expect=expect)
    return info.value


def test_round_trip_keeps_header_and_frames_without_copying():
    parts = stylize_parts()
    msg = P.decode(parts, SMALL)
    assert msg.type == M.STYLIZE and msg.id == "job-1"
    assert [len(f) for f in msg.frames] == [48, 12]
    assert all(isinstance(f, memoryview) for f in msg.frames)
    assert msg.frames[0].obj is parts[1]  # a view on the received buffer, not a copy


def test_every_header_carries_version_type_and_id():
    h = msgpack.unpackb(P.encode(P.make_header(M.HELLO, "x"))[0])
    assert h == {"v": P.PROTOCOL_VERSION, "type": "hello", "id": "x"}


def test_other_protocol_version_names_both_versions():
    err = refused([msgpack.packb({"v": 99, "type": "hello", "id": "a"})])
    assert err.code == P.BAD_VERSION
    assert "99" in err.message and str(P.PROTOCOL_VERSION) in err.message
    assert err.job_id == "a"


@pytest.mark.parametrize("raw", [
    b"\xff\x00garbage",
    msgpack.packb({"v": 1, "type": "hello", "id": "a"})[:-3],  # truncated
    msgpack.packb([1, 2, 3]),
    msgpack.packb({"v": 1, "type": "hello", "id": "a"}) + b"\x01",  # trailing bytes
    pickle.dumps({"v": 1, "type": "hello", "id": "a"}),
    b"",
])
def test_garbage_truncated_and_pickled_headers_are_bad_header(raw):
    assert refused([raw]).code == P.BAD_HEADER


def test_unknown_type_and_unknown_field():
    assert refused(P.encode(P.make_header("frobnicate", "a"))).code == P.UNKNOWN_TYPE
    assert refused(P.encode(P.make_header(M.HELLO, "a", colour="red"))).code == P.BAD_REQUEST


def test_wrong_field_types_are_bad_header():
    h = P.make_header(M.STYLIZE, "a", contents="nope", styles=[], settings={})
    assert refused(P.encode(h)).code == P.BAD_HEADER
    bad_id = {"v": P.PROTOCOL_VERSION, "type": "hello", "id": 7}
    assert refused(P.encode(bad_id)).code == P.BAD_HEADER
    assert refused(P.encode({"v": True, "type": "hello", "id": "a"})).code == P.BAD_HEADER


def test_frame_lengths_must_match_the_header():
    parts = stylize_parts()
    parts[1] = parts[1][:-1]
    err = refused(parts)
    assert err.code == P.BAD_FRAMES and err.job_id == "job-1"
    assert refused(stylize_parts()[:-1]).code == P.BAD_FRAMES  # a frame missing
    assert refused(stylize_parts() + [b"x"]).code == P.BAD_FRAMES  # one too many


def test_limits_are_enforced_before_frames_are_looked_at():
    assert refused(stylize_parts(contents=((100, 100, 4),))).code == P.TOO_LARGE
    assert refused(stylize_parts(styles=((2, 2, 3),) * 3)).code == P.TOO_LARGE
    assert refused(stylize_parts(contents=((4, 4, 4),) * 3)).code == P.TOO_LARGE
    assert refused(stylize_parts(settings={"iterations": 51})).code == P.TOO_LARGE
    assert refused(stylize_parts(contents=())).code == P.BAD_REQUEST
    huge = msgpack.packb({"v": 1, "type": "hello", "id": "a", "client": "x" * 70000})
    assert refused([huge], P.Limits()).code == P.TOO_LARGE
    assert refused([b"\x80"] * (SMALL.max_frames + 2)).code == P.BAD_FRAMES


def test_total_message_bytes_limit():
    lim = P.Limits(max_message_bytes=100, max_pixels=1000)
    assert refused(stylize_parts(contents=((5, 5, 4),), styles=((5, 5, 3),)), lim).code == \
        P.TOO_LARGE


def test_image_descriptions():
    assert refused(stylize_parts(contents=((4, 3, 5),))).code == P.BAD_REQUEST
    assert refused(stylize_parts(contents=((0, 3, 3),))).code == P.BAD_REQUEST
    h = P.make_header(M.STYLIZE, "a", contents=[P.Image(2, 2, 3).to_dict()],
                      styles=[{"encoding": "gif", "bytes": 10}])
    assert refused(P.encode(h, [bytes(12), bytes(10)])).code == P.UNSUPPORTED_FORMAT
    h["styles"] = [{"encoding": "png", "bytes": 10, "weight": -1}]
    assert refused(P.encode(h, [bytes(12), bytes(10)])).code == P.BAD_REQUEST
    h["styles"] = [{"encoding": "png", "bytes": 10}]
    assert P.decode(P.encode(h, [bytes(12), bytes(10)]), SMALL).images("styles")[0][0] == \
        P.EncodedImage("png", 10)
    h["contents"] = [{"encoding": "png", "bytes": 12}]  # contents must be raw pixels
    assert refused(P.encode(h, [bytes(12), bytes(10)])).code == P.BAD_REQUEST


def test_replies_tolerate_unknown_fields_but_requests_do_not():
    h = P.make_header(M.PONG, "a", future_field=1)
    assert P.decode(P.encode(h), expect="reply").header["future_field"] == 1
    assert refused(P.encode(P.make_header(M.PONG, "a"))).code == P.UNKNOWN_TYPE  # not a request


def test_an_error_about_an_unreadable_message_has_an_empty_id():
    msg = P.decode(P.encode(P.error_header("", P.BAD_HEADER, "?")), expect="reply")
    assert msg.id == "" and msg.header["code"] == P.BAD_HEADER
    assert refused(P.encode(P.make_header(M.HELLO, ""))).code == P.BAD_HEADER


def test_result_frames_checked_on_the_client_side():
    h = P.make_header(M.RESULT, "a", images=[P.Image(2, 2, 4).to_dict()], stats=[{}])
    assert len(P.decode(P.encode(h, [bytes(16)]), expect="reply").frames) == 1
    assert refused(P.encode(h, [bytes(15)]), expect="reply").code == P.BAD_FRAMES


def test_limits_dict_round_trip_ignores_unknown_keys():
    d = dict(SMALL.to_dict(), from_the_future=3)
    assert P.Limits.from_dict(d) == SMALL


def test_error_codes_are_the_documented_stable_set():
    assert P.ERROR_CODES == {
        "bad_version", "bad_header", "unknown_type", "bad_request", "bad_frames", "too_large",
        "bad_image", "unsupported_format", "unknown_job", "busy", "forbidden", "id_in_use",
        "shutting_down", "oom", "diverged", "internal",
    }


def test_message_types_are_the_wire_strings_of_protocol_2():
    """One enum, and still the very strings an older peer sends and compares."""
    assert {t.value for t in M} == {
        "hello", "stylize", "cancel", "status", "stop", "ping", "bye", "echo", "welcome",
        "accepted", "progress", "result", "error", "cancelled", "status_reply", "stopping",
        "pong", "echoed"}
    assert P.REQUEST_TYPES | P.REPLY_TYPES == set(M) and not P.REQUEST_TYPES & P.REPLY_TYPES
    raw = P.pack_header(P.make_header(M.HELLO, "a", client="x"))
    assert raw == msgpack.packb({"v": P.PROTOCOL_VERSION, "type": "hello", "id": "a",
                                 "client": "x"}, use_bin_type=True)
    old_peer = msgpack.packb({"v": P.PROTOCOL_VERSION, "type": "pong", "id": "a"})
    msg = P.decode([old_peer], expect="reply")
    assert msg.type is M.PONG and msg.type == "pong" and f"{msg.type}" == "pong"


def test_the_progress_schema_is_read_off_the_progress_event():
    from dataclasses import fields

    from impasto_wire.progress import SCHEMA, ProgressEvent

    wire = {f.name for f in fields(ProgressEvent) if f.metadata.get("wire", True)}
    assert set(SCHEMA) == wire | {"preview"}
    full = ProgressEvent(stage="optimising", fraction=0.5, eta=3.0, size=(4, 5), tiles=2,
                         strategy="x", heartbeat=True)
    msg = P.decode(P.encode(P.make_header(M.PROGRESS, "j", **full.to_header())), expect="reply")
    assert ProgressEvent.from_header(msg.header) == full
    short = full.to_header()
    del short["fraction"]  # sent by every protocol-2 daemon: its absence is a broken peer
    assert refused(P.encode(P.make_header(M.PROGRESS, "j", **short)),
                   expect="reply").code == P.BAD_HEADER
    no_eta = dict(full.to_header(), eta=None)  # added fields stay optional
    assert P.decode(P.encode(P.make_header(M.PROGRESS, "j", **no_eta)), expect="reply")
    assert refused(P.encode(P.make_header(M.PROGRESS, "j", **dict(full.to_header(), step="3"))),
                   expect="reply").code == P.BAD_HEADER


def test_a_client_event_carries_its_type_and_its_progress_read_once():
    from impasto_wire.client import Event
    from impasto_wire.progress import ProgressEvent

    header = P.make_header(M.PROGRESS, "j", **ProgressEvent(stage="targets", layers=2).to_header())
    ev = Event("progress", "j", header)
    assert ev.type is M.PROGRESS and ev.progress == ProgressEvent(stage="targets", layers=2)
    done = Event(M.RESULT, "j", P.make_header(M.RESULT, "j", images=[], stats=[]))
    assert done.terminal and done.progress is None


def test_an_over_long_job_id_is_refused_by_the_check_both_ends_use():
    with pytest.raises(P.ProtocolError, match=str(P.MAX_ID_LENGTH)) as info:
        P.check_id("x" * 200, "a job id")
    assert info.value.code == P.BAD_REQUEST and "200 characters" in info.value.message
    assert P.check_id("x" * P.MAX_ID_LENGTH) == "x" * P.MAX_ID_LENGTH
    err = refused(P.encode(P.make_header(M.CANCEL, "x" * 200)))
    assert err.code == P.BAD_HEADER and err.job_id == ""


def test_each_limit_is_defined_once_and_imported_by_protocol_and_settings():
    from impasto_daemon import settings
    from impasto_wire import limits as L

    assert P.Limits().max_iterations == L.MAX_ITERATIONS == settings.MAX_ITERATIONS
    assert settings.MAX_ITERATIONS is L.MAX_ITERATIONS
    assert P.MAX_ID_LENGTH is L.MAX_ID_LENGTH
    assert P.Limits().max_queued_bytes == L.MAX_QUEUED_BYTES >= P.Limits().max_message_bytes


def test_the_plug_in_takes_the_iteration_limit_from_the_wire_without_pyzmq():
    """options.py is imported when GIMP registers the plug-in, before its dependencies are
    checked: the limit must come from impasto_wire without importing zmq or msgpack."""
    import subprocess
    import sys
    from pathlib import Path

    plugin = Path(__file__).resolve().parents[2] / "gimp_plugin" / "impasto-stylize"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from impasto_gimp import options; from impasto_wire import limits; "
            "assert options.ITERATIONS_MAX is limits.MAX_ITERATIONS; "
            "assert 'zmq' not in sys.modules and 'msgpack' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code, str(plugin)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_ping_asks_about_a_bounded_number_of_well_formed_job_ids():
    ok = P.encode(P.make_header(M.PING, "p", jobs=["a", "b"]))
    assert P.decode(ok, SMALL).header["jobs"] == ["a", "b"]
    many = P.encode(P.make_header(M.PING, "p", jobs=[f"j{i}" for i in range(P.MAX_PING_JOBS + 1)]))
    assert refused(many).code == P.TOO_LARGE
    assert refused(P.encode(P.make_header(M.PING, "p", jobs=["x" * 200]))).code == P.BAD_REQUEST


# --- endpoints ---------------------------------------------------------------------------------


def test_discovery_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("IMPASTO_ENDPOINT", raising=False)
    default = E.discover_endpoint()
    assert default == f"ipc://{tmp_path}/impasto/daemon.sock"
    assert stat.S_IMODE(os.stat(tmp_path / "impasto").st_mode) == 0o700
    E.write_announced("tcp://127.0.0.1:5555")
    assert stat.S_IMODE(os.stat(E.announce_path()).st_mode) == 0o600
    assert E.discover_endpoint() == "tcp://127.0.0.1:5555"
    monkeypatch.setenv("IMPASTO_ENDPOINT", "ipc:///elsewhere")
    assert E.discover_endpoint() == "ipc:///elsewhere"
    E.remove_announced("tcp://127.0.0.1:9")  # not ours: kept
    assert E.read_announced() == "tcp://127.0.0.1:5555"
    E.remove_announced("tcp://127.0.0.1:5555")
    assert E.read_announced() is None


def test_private_cache_folder_without_xdg_runtime_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    d = E.runtime_dir()
    assert d == tmp_path / "cache" / "impasto" / "run"
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    os.chmod(d, 0o755)
    E.runtime_dir()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700  # tightened again


def test_a_symlinked_runtime_folder_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "x").mkdir()
    os.symlink(target, tmp_path / "x" / "impasto")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "x"))
    with pytest.raises(E.EndpointError):
        E.runtime_dir()


@pytest.mark.parametrize("endpoint, local", [
    ("ipc:///tmp/x.sock", True),
    ("tcp://127.0.0.1:5555", True),
    ("tcp://localhost:5555", True),
    ("tcp://[::1]:5555", True),
    ("tcp://0.0.0.0:5555", False),
    ("tcp://*:5555", False),
    ("tcp://192.168.1.2:5555", False),
    ("tcp://eth0:5555", False),
])
def test_loopback_endpoints(endpoint, local):
    assert E.is_loopback_endpoint(endpoint) is local


def test_malformed_endpoints():
    for bad in ("udp://x:1", "tcp://127.0.0.1", "ipc://"):
        with pytest.raises(E.EndpointError):
            E.check_endpoint(bad)


# --- keys --------------------------------------------------------------------------------------


def test_key_pairs_have_a_private_secret_file(tmp_path):
    public, secret = create_key_pair(tmp_path / "keys", "alice")
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    pub, sec = load_secret_key(secret)
    assert load_public_key(public) == pub and len(sec) == 40
    with pytest.raises(CurveKeyError):
        create_key_pair(tmp_path / "keys", "alice")  # never overwrites
    os.chmod(secret, 0o644)
    with pytest.raises(CurveKeyError, match="chmod 600"):
        load_secret_key(secret)
