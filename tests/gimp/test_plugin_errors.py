"""What the artist sees when a run cannot succeed: a clear message, EXECUTION_ERROR, no new
layer and an untouched source (real GIMP, real daemon)."""

from __future__ import annotations

import pytest

W, H = 40, 32


@pytest.fixture(scope="module")
def refused(impasto):
    notes = impasto.xchg / "notes.png"
    notes.write_text("these are my notes, not a picture\n")
    broken = impasto.xchg / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 40)
    res = impasto.run(f"""
        out = {{}}
        cases = {{
            "text_file": dict(style_file={impasto.path(notes)!r}),
            "broken_png": dict(style_file={impasto.path(broken)!r}),
            "no_style": dict(),
            "model_not_loaded": dict(style_file={impasto.path(broken)!r}, model="vgg16"),
            "size_too_small": dict(style_file={impasto.path(broken)!r}, size=10),
            "iterations_zero": dict(style_file={impasto.path(broken)!r}, iterations=0),
            "style_missing": dict(style_file={impasto.path(impasto.xchg / "gone.png")!r}),
        }}
        for name, props in cases.items():
            img = Gimp.Image.new({W}, {H}, Gimp.ImageBaseType.RGB)
            src = make_layer(img, "Photo", {W}, {H}, pattern({W}, {H}, 1))
            r = stylize(img, [src], **props)
            out[name] = {{"result": r, "layers": [l.get_name() for l in img.get_layers()],
                          "intact": read_pixels(src) == pattern({W}, {H}, 1)}}
            img.delete()
        img = Gimp.Image.new({W}, {H}, Gimp.ImageBaseType.RGB)
        group = Gimp.GroupLayer.new(img, "Folder")
        img.insert_layer(group, None, 0)
        make_layer(img, "Inside", {W}, {H}, pattern({W}, {H}, 2), parent=group)
        r = stylize(img, [group], style_file={impasto.path(notes)!r})
        out["group_selected"] = {{"result": r, "layers": [l.get_name() for l in img.get_layers()],
                                  "intact": True}}
        img.delete()
        emit(out)
    """, timeout=120)
    return res.data[0], res.log


@pytest.mark.parametrize("case, words", [
    ("text_file", ["'notes' is not an image", "Choose a picture file"]),
    ("broken_png", ["'broken' could not be read as an image", "PNG, JPEG"]),
    ("no_style", ["Choose a style image"]),
    ("model_not_loaded", ["has VGG19 loaded, not VGG16", "impasto-daemon --model vgg19,vgg16"]),
    ("size_too_small", ["Size must be 0 (the layer's full size) or between 32"]),
    ("group_selected", ["'Folder' is a layer group"]),
    ("iterations_zero", ["Iterations must be between 1 and 10000, not 0"]),
    ("style_missing", ["gone.png' does not exist"]),
])
def test_refusal_is_clear_and_changes_nothing(refused, case, words):
    out, log = refused
    got = out[case]
    assert got["result"]["status"] == "execution-error", (got, log)
    for w in words:
        assert w in got["result"]["message"], got["result"]["message"]
    assert len(got["layers"]) == 1 and got["intact"], got


def test_missing_zmq_and_msgpack_are_named(impasto):
    res = impasto.run(f"""
        img = Gimp.Image.new({W}, {H}, Gimp.ImageBaseType.RGB)
        src = make_layer(img, "Photo", {W}, {H}, pattern({W}, {H}, 1))
        emit([stylize(img, [src]), len(img.get_layers())])
        img.delete()
    """, hide_python_modules=("zmq", "msgpack"))
    result, n_layers = res.data[0]
    assert result["status"] == "execution-error", (result, res.log)
    message = result["message"]
    for w in ("zmq, msgpack", "pyzmq msgpack", "sudo apt install python3-zmq python3-msgpack",
              "pip install --target", "vendor"):
        assert w in message, message
    assert n_layers == 1


def test_script_refusals_reach_the_plugin_without_gobject_warnings(refused):
    """iterations=0 and a style path that does not exist used to be stopped by GObject/GIMP
    before the plug-in ran: a warning and a silent 300 iterations, or "<not transformable to
    string>". Now both arrive and are refused in words."""
    out, log = refused
    for case in ("iterations_zero", "style_missing"):
        assert "not transformable" not in (out[case]["result"]["message"] or "")
    for noise in ("out of range", "not transformable", "is invalid or out of range"):
        assert noise not in log, log


def test_a_catalogue_beside_the_installed_plugin_translates_its_messages(impasto):
    """Issue 20 item 7, inside GIMP: a compiled catalogue dropped into the installed plug-in's
    locale/ folder (where do_set_i18n points GIMP) is used for the language GIMP runs in, with
    no code change; the plug-in still registers and runs."""
    from test_plugin_texts import write_mo

    text = "'{name}' is a layer group; select the layers inside it (or merge the group) instead."
    mo = (impasto.gimp.profile / "plug-ins" / "impasto-stylize" / "locale" / "xx"
          / "LC_MESSAGES" / "impasto-stylize.mo")
    write_mo(mo, {text: "«{name}» ist eine Ebenengruppe."})
    try:
        res = impasto.run(f"""
            img = Gimp.Image.new({W}, {H}, Gimp.ImageBaseType.RGB)
            group = Gimp.GroupLayer.new(img, "Folder")
            img.insert_layer(group, None, 0)
            make_layer(img, "Inside", {W}, {H}, pattern({W}, {H}, 2), parent=group)
            emit(stylize(img, [group]))
            img.delete()
        """, env={"LANGUAGE": "xx"}, timeout=120)
    finally:
        mo.unlink()
        for folder in (mo.parent, mo.parent.parent):
            folder.rmdir()
    (result,) = res.data
    assert result == {"status": "execution-error", "message": "«Folder» ist eine Ebenengruppe."}
    assert "catalog" not in res.log.lower(), res.log  # no "catalog directory" complaints
