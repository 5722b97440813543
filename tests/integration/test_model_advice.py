"""A job for a network the daemon has not loaded is refused with advice that works on this
machine: "start it with --model vgg16,vgg19" led to exit 4 where no VGG19 weights exist
offline. The advice names the loaded models, the commands that get the missing one its
weights (torchvision's download, or an ONNX file), the configuration and its documentation."""

from __future__ import annotations

from daemon_support import RawPeer

from impasto_daemon.model_advice import model_not_loaded
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M


def _stylize(model: str) -> list[bytes]:
    header = P.make_header(M.STYLIZE, "advice-job", contents=[P.Image(4, 3, 3).to_dict()],
                           styles=[P.Image(2, 2, 3).to_dict()],
                           settings={"iterations": 1, "model": model})
    return P.encode(header, [bytes(4 * 3 * 3), bytes(2 * 2 * 3)])


def test_a_model_not_loaded_is_refused_with_what_can_be_done_here(peer: RawPeer):
    loaded = {m["name"] for m in peer.ask(P.encode(P.make_header(M.HELLO, "h"))).header["models"]}
    missing = ({"vgg19", "vgg16"} - loaded).pop()
    msg = peer.ask(_stylize(missing))
    assert msg.type == M.ERROR and msg.header["code"] == P.BAD_REQUEST, msg.header
    text = msg.header["message"]
    assert text == model_not_loaded(missing, loaded)
    assert "start it with" not in text
    assert f"model {missing} is not loaded by this daemon (loaded: {', '.join(sorted(loaded))})" \
        in text
    assert f"fetch-weights {missing}`" in text and "download.pytorch.org" in text
    assert f"import-onnx MODEL.onnx -o {missing}.pth --model {missing}`" in text
    assert "impasto/daemon.toml" in text and "docs/CONFIG.md" in text
    assert "impasto stop`" in text or "impasto' stop`" in text
