"""A job's messages go to the connection that submitted it, never to a second connection that
presents the same routing id (issue 19, item 8). With ROUTER_HANDOVER a script with a fixed id
lost its result to another local user who connected with that id; the daemon now refuses a
connection whose routing id is already connected, and notices dead connections by ZeroMQ
heartbeats, so a client that really reconnects gets its id back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import zmq
from daemon_support import picture
from ports import free_port
from second_user import make_other_user

from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

FIXED_ID = b"my-script"

# as the other user: connect with the victim's routing id, say hello, record all that arrives
# until the test closes our stdin
LISTENER = r"""
import json, sys, threading, zmq
import msgpack
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.ROUTING_ID, sys.argv[2].encode())
s.connect(sys.argv[1])
s.send(msgpack.packb({"v": 2, "type": "hello", "id": "intruder-hello"}))
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("listening", flush=True)
got = []
while not stop.is_set():
    if s.poll(100):
        parts = s.recv_multipart()
        h = msgpack.unpackb(parts[0], raw=False)
        got.append([h.get("type"), h.get("id"), sum(len(p) for p in parts[1:])])
print(json.dumps(got), flush=True)
"""


@pytest.fixture
def other_user():
    yield from make_other_user()


def stylize_request(job_id: str, iterations: int = 150) -> list:
    content, style = picture(48, 48, 4), picture(32, 32, 3, 1)
    header = P.make_header(M.STYLIZE, job_id, contents=[P.Image(48, 48, 4).to_dict()],
                           styles=[P.Image(32, 32, 3).to_dict()],
                           settings={"iterations": iterations, "size": None, "multiscale": False,
                                     "tolerance": 0})
    return P.encode(header, [content.tobytes(), style.tobytes()])


def test_a_second_connection_with_the_same_routing_id_never_gets_the_first_ones_result(
        own_daemon, other_user):
    d = own_daemon(endpoint=f"tcp://127.0.0.1:{free_port()}")
    ctx = zmq.Context()
    victim = ctx.socket(zmq.DEALER)
    victim.setsockopt(zmq.LINGER, 0)
    victim.setsockopt(zmq.ROUTING_ID, FIXED_ID)
    victim.connect(d.endpoint)
    intruder = None
    try:
        victim.send_multipart(stylize_request("victims-job"))
        seen = []

        def next_message() -> P.Message:
            while True:
                assert victim.poll(60_000), f"the daemon went silent; victim saw {seen}"
                msg = P.decode(victim.recv_multipart(), expect="reply")
                if msg.type != M.PONG:
                    break
            seen.append(msg.type)
            # a live client pings (the daemon cancels the jobs of silent ones)
            victim.send(P.pack_header(P.make_header(M.PING, f"ping-{len(seen)}")))
            return msg

        while not (seen and seen[-1] == M.PROGRESS and len(seen) >= 3):
            assert next_message().type in (M.ACCEPTED, M.PROGRESS)
        intruder = subprocess.Popen(
            ["setpriv", "--reuid", str(other_user.uid), "--regid", str(other_user.gid),
             "--clear-groups", sys.executable, "-c", LISTENER, d.endpoint, FIXED_ID.decode()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/")
        assert intruder.stdout.readline().strip() == "listening"
        while True:  # the victim hears its job to the end
            msg = next_message()
            if msg.type in P.TERMINAL_TYPES:
                break
        assert msg.type == M.RESULT and msg.id == "victims-job", msg.header
        assert len(msg.frames) == 1 and len(msg.frames[0]) == 48 * 48 * 4
        out, _ = intruder.communicate("", timeout=30)
        got = json.loads(out.strip().splitlines()[-1])
        assert not [m for m in got if m[1] == "victims-job"], f"the intruder got {got}"
    finally:
        if intruder is not None and intruder.poll() is None:
            intruder.kill()
            intruder.wait()
        victim.close()
        ctx.term()


# as the other user, once the first connection is gone: present its routing id and ask for its
# job (the question a client that reconnects asks), printing every answer
ASKER = r"""
import json, sys, time, zmq
import msgpack
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.ROUTING_ID, sys.argv[2].encode())
s.connect(sys.argv[1])
got, welcomed, deadline = [], False, time.monotonic() + 60
while not welcomed and time.monotonic() < deadline:  # until this connection is accepted
    s.send(msgpack.packb({"v": 2, "type": "hello", "id": "asker-hello"}))
    while s.poll(500):
        h = msgpack.unpackb(s.recv_multipart()[0], raw=False)
        welcomed = welcomed or h["type"] == "welcome"
s.send(msgpack.packb({"v": 2, "type": "ping", "id": "asker-ping", "jobs": [sys.argv[3]]}))
while s.poll(5000):
    parts = s.recv_multipart()
    h = msgpack.unpackb(parts[0], raw=False)
    got.append([h.get("type"), h.get("id"), sum(len(p) for p in parts[1:]), h.get("jobs")])
    if h["type"] == "pong":
        break
print(json.dumps({"welcomed": welcomed, "got": got}), flush=True)
"""


def test_a_finished_jobs_result_is_not_replayed_to_another_user_presenting_its_routing_id(
        own_daemon, other_user):
    d = own_daemon(endpoint=f"tcp://127.0.0.1:{free_port()}")
    ctx = zmq.Context()
    victim = ctx.socket(zmq.DEALER)
    victim.setsockopt(zmq.LINGER, 0)
    victim.setsockopt(zmq.ROUTING_ID, FIXED_ID)
    victim.connect(d.endpoint)
    try:
        victim.send_multipart(stylize_request("victims-job", iterations=2))
        while True:
            assert victim.poll(60_000), "the daemon went silent"
            msg = P.decode(victim.recv_multipart(), expect="reply")
            victim.send(P.pack_header(P.make_header(M.PING, f"ping-{msg.type}")))
            if msg.type in P.TERMINAL_TYPES:
                break
        assert msg.type == M.RESULT, msg.header  # kept by the daemon for a replay to its owner
    finally:
        victim.close()  # the script ends; its routing id is free again
        ctx.term()
    done = other_user.run(sys.executable, "-c", ASKER, d.endpoint, FIXED_ID.decode(),
                          "victims-job", timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["welcomed"], report  # its connection was accepted: the question was heard
    assert [g for g in report["got"] if g[0] == "pong"], report
    assert not [g for g in report["got"] if g[1] == "victims-job"], report  # no replayed result
    assert [g[3] for g in report["got"] if g[0] == "pong"] == [{"victims-job": "unknown"}]
