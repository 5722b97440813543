"""Proves the GIMP harness: a plug-in written here runs NONINTERACTIVE inside a real GIMP 3,
its result is checked from outside, and a plug-in reaches a ZeroMQ socket on the host."""

from __future__ import annotations

import threading

import msgpack
import pytest
import zmq
from PIL import Image

W, H = 32, 24

# A two-procedure plug-in:
#   plug-in-impasto-smoke      adds a layer "inverted" above the source with its colours inverted
#   plug-in-impasto-smoke-zmq  sends one msgpack message to ENDPOINT (REQ) and returns the answer
SMOKE_PLUGIN = r"""
#!/usr/bin/env python3
import sys

import gi
gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, GLib, GObject, Gimp

import msgpack
import zmq

FMT = "R'G'B'A u8"


def run_invert(procedure, run_mode, image, drawables, config, data):
    if len(drawables) != 1:
        return procedure.new_return_values(Gimp.PDBStatusType.CALLING_ERROR,
                                           GLib.Error("select exactly one layer"))
    src = drawables[0]
    w, h = src.get_width(), src.get_height()
    rect = Gegl.Rectangle.new(0, 0, w, h)
    px = bytearray(src.get_buffer().get(rect, 1.0, FMT, Gegl.AbyssPolicy.CLAMP))
    for i in range(len(px)):
        if i % 4 != 3:
            px[i] = 255 - px[i]
    image.undo_group_start()
    layer = Gimp.Layer.new(image, "inverted", w, h, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, src.get_parent(), image.get_item_position(src))
    _, ox, oy = src.get_offsets()
    layer.set_offsets(ox, oy)
    buf = layer.get_buffer()
    buf.set(rect, FMT, bytes(px))
    buf.flush()
    layer.update(0, 0, w, h)
    image.undo_group_end()
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def run_zmq(procedure, config, data):
    endpoint = config.get_property("endpoint")
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10000)
    sock.setsockopt(zmq.SNDTIMEO, 10000)
    try:
        sock.connect(endpoint)
        sock.send(msgpack.packb({"hello": "from-gimp", "gimp": Gimp.version(),
                                 "python": sys.version.split()[0], "zmq": zmq.__version__}))
        reply = msgpack.unpackb(sock.recv())
    except zmq.ZMQError as exc:
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR,
                                           GLib.Error(f"zmq: {exc}"))
    finally:
        sock.close()
    ret = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
    ret.remove(1)
    ret.insert(1, GObject.Value(GObject.TYPE_STRING, reply["answer"]))
    return ret


class Smoke(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        return ["plug-in-impasto-smoke", "plug-in-impasto-smoke-zmq"]

    def do_create_procedure(self, name):
        if name == "plug-in-impasto-smoke":
            proc = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_invert, None)
            proc.set_image_types("RGB*")
            proc.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
            proc.set_menu_label("Impasto smoke (invert)")
        else:
            proc = Gimp.Procedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_zmq, None)
            proc.add_enum_argument("run-mode", "Run mode", "The run mode", Gimp.RunMode,
                                   Gimp.RunMode.NONINTERACTIVE, GObject.ParamFlags.READWRITE)
            proc.add_string_argument("endpoint", "Endpoint", "ZeroMQ endpoint", "tcp://127.0.0.1:1",
                                     GObject.ParamFlags.READWRITE)
            proc.add_string_return_value("answer", "Answer", "The peer's answer", "",
                                         GObject.ParamFlags.READWRITE)
        proc.set_documentation("Impasto harness smoke test", "", name)
        proc.set_attribution("Impasto", "Impasto", "2025")
        return proc


Gimp.main(Smoke.__gtype__, sys.argv)
"""


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    return (x * 8 % 256, y * 10 % 256, (x + y) * 3 % 256, 255)


@pytest.fixture(scope="module")
def smoke(gimp):
    gimp.write_plugin("impasto-smoke", SMOKE_PLUGIN)
    yield gimp
    gimp.remove_plugin("impasto-smoke")


def test_plugin_adds_inverted_layer(smoke):
    xcf, png = smoke.xchg / "smoke.xcf", smoke.xchg / "smoke.png"
    src = bytes(v for y in range(H) for x in range(W) for v in _pixel(x, y))
    res = smoke.run_batch(f"""
        img, layer = new_image({W}, {H}, {src!r}, name="source")
        run_procedure("plug-in-impasto-smoke", image=img, drawables=[layer])
        emit([l.get_name() for l in img.get_layers()])
        save_image(img, {smoke.root_path(xcf)!r})
        save_image(img, {smoke.root_path(png)!r})
    """)
    assert res.data == [["inverted", "source"]], res.log

    with Image.open(png) as im:
        assert im.size == (W, H)
        got = im.convert("RGBA")
        for y in range(H):
            for x in range(W):
                r, g, b, a = _pixel(x, y)
                assert got.getpixel((x, y)) == (255 - r, 255 - g, 255 - b, a), (x, y)

    # The XCF keeps both layers with their own pixels.
    res = smoke.run_batch(f"""
        img = load_image({smoke.root_path(xcf)!r})
        emit([[l.get_name(), read_pixels(l).hex()] for l in img.get_layers()])
    """)
    (layers,) = res.data
    assert [name for name, _ in layers] == ["inverted", "source"]
    assert bytes.fromhex(layers[1][1]) == src
    assert bytes.fromhex(layers[0][1]) == bytes(
        v if i % 4 == 3 else 255 - v for i, v in enumerate(src)
    )


def test_plugin_talks_zmq_to_host(smoke):
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    got: list = []

    def serve() -> None:
        if rep.poll(60_000):
            got.append(msgpack.unpackb(rep.recv()))
            rep.send(msgpack.packb({"answer": "pong-7"}))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        res = smoke.run_batch(f"""
            emit(run_procedure("plug-in-impasto-smoke-zmq", endpoint="tcp://127.0.0.1:{port}"))
        """)
        t.join(10)
    finally:
        rep.close()
    assert res.data == [["pong-7"]], res.log
    assert got and got[0]["hello"] == "from-gimp" and got[0]["gimp"].startswith("3."), got


def test_failure_is_reported(gimp, gimp_harness):
    with pytest.raises(gimp_harness.GimpBatchError, match="no-such-procedure"):
        gimp.run_batch('run_procedure("plug-in-no-such-procedure")')


def test_system_zmq_can_be_hidden(gimp):
    res = gimp.run_batch(
        """
        import msgpack
        try:
            import zmq
            emit("zmq visible")
        except ImportError:
            emit("zmq hidden")
        """,
        hide_python_modules=("zmq",),
    )
    assert res.data == ["zmq hidden"], res.log
