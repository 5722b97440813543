"""The daemon's answer to a client's challenge (issue 19, item 4): only the holder of the token
can make it, it is bound to the challenge and to the daemon's nonce, and it travels in optional
hello/welcome fields of protocol version 2."""

from __future__ import annotations

from impasto_wire import daemon_proof as D
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

TOKEN = "ab" * 32


def test_only_the_tokens_holder_answers_a_challenge():
    challenge, nonce = D.new_nonce(), D.new_nonce()
    proof = D.answer(TOKEN, challenge, nonce)
    assert TOKEN.encode() not in proof and len(proof) == 32
    assert D.verify(TOKEN, challenge, nonce, proof)
    assert not D.verify("cd" * 32, challenge, nonce, proof)  # another daemon's token
    assert not D.verify(TOKEN, D.new_nonce(), nonce, proof)  # a replayed answer
    assert not D.verify(TOKEN, challenge, D.new_nonce(), proof)
    assert not D.verify(TOKEN, challenge, nonce[:16], proof)
    assert not D.verify(TOKEN, challenge, None, None)


def test_proof_is_asked_only_where_nothing_else_proves_the_daemon():
    assert D.needs_proof("tcp://127.0.0.1:47213", curve=False)
    assert not D.needs_proof("tcp://127.0.0.1:47213", curve=True)
    assert not D.needs_proof("ipc:///run/user/1000/impasto/daemon.sock", curve=False)


def test_challenge_and_proof_travel_in_hello_and_welcome():
    challenge = D.new_nonce()
    hello = P.decode(P.encode(P.make_header(M.HELLO, "h1", client="x", challenge=challenge)))
    assert hello.header["challenge"] == challenge
    welcome = P.make_header(M.WELCOME, "h1", daemon_version="1", protocol=2, device="cpu",
                            devices=["cpu"], models=[], limits={}, nonce=D.new_nonce(),
                            proof=D.answer(TOKEN, challenge, b"n" * 32))
    assert P.decode(P.encode(welcome), expect="reply").header["proof"] == welcome["proof"]
