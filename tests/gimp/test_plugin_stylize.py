"""plug-in-impasto-stylize inside a real GIMP 3, against the real daemon (CPU, random weights,
tiny layers, 3 iterations): where the new layers go, what they hold, what is left untouched.

One GIMP run paints seven images (module fixture ``painted``); each test reads one aspect of it.
A second run reloads the saved XCF, and the saved PNG is read with Pillow.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image
from plugin_fixtures import pattern, trace_lines

STYLE = "Brush Strokes"  # the style file's name without extension: it names the new layers
STYLE2 = "ink"


def rgba(hex_pixels: str) -> bytes:
    return bytes.fromhex(hex_pixels)


def alpha(data: bytes) -> bytes:
    return data[3::4]


def rgb(data: bytes) -> bytes:
    return bytes(b for i, b in enumerate(data) if i % 4 != 3)


@pytest.fixture(scope="module")
def files(impasto):
    style = impasto.xchg / f"{STYLE}.png"
    Image.frombytes("RGBA", (32, 32), pattern(32, 32, seed=5)).save(style)
    style2 = impasto.xchg / f"{STYLE2}.jpg"
    Image.frombytes("RGBA", (24, 24), pattern(24, 24, seed=9)).convert("RGB").save(style2)
    return {"style": style, "style2": style2, "xcf": impasto.xchg / "single.xcf",
            "png": impasto.xchg / "style-layer.png"}


@pytest.fixture(scope="module")
def painted(impasto, files):
    p = {k: impasto.path(v) for k, v in files.items()}
    res = impasto.run(f"""
        STYLE, STYLE2 = {p["style"]!r}, {p["style2"]!r}
        out = {{}}

        # single: a layer with alpha and offsets, above a background
        img = Gimp.Image.new(64, 48, Gimp.ImageBaseType.RGB)
        make_layer(img, "Background", 64, 48, pattern(64, 48, 1))
        src = make_layer(img, "Paint", 40, 30, pattern(40, 30, 2, alpha=True), offsets=(7, 5))
        before = pixels(src)
        r = stylize(img, [src], style_file=STYLE)
        out["single"] = {{"result": r, "tree": tree(img), "before": before,
                          "after": pixels(src), "new": pixels(img.get_layers()[0]),
                          "selected": [l.get_id() for l in img.get_selected_layers()]}}
        save_image(img, {p["xcf"]!r})

        # two: both layers selected, in one request
        img = Gimp.Image.new(48, 40, Gimp.ImageBaseType.RGB)
        a = make_layer(img, "A", 48, 40, pattern(48, 40, 3))
        b = make_layer(img, "B", 30, 20, pattern(30, 20, 4), offsets=(10, 12))
        before = [pixels(a), pixels(b)]
        r = stylize(img, [a, b], style_file=STYLE)
        out["two"] = {{"result": r, "tree": tree(img), "before": before,
                       "after": [pixels(a), pixels(b)]}}

        # group: a layer inside a layer group
        img = Gimp.Image.new(48, 40, Gimp.ImageBaseType.RGB)
        make_layer(img, "Background", 48, 40, pattern(48, 40, 5))
        group = Gimp.GroupLayer.new(img, "Group")
        img.insert_layer(group, None, 0)
        inner = make_layer(img, "Inner", 32, 24, pattern(32, 24, 6), parent=group,
                           offsets=(4, 6))
        make_layer(img, "Top", 20, 20, pattern(20, 20, 7), parent=group, position=0)
        r = stylize(img, [inner], style_file=STYLE)
        out["group"] = {{"result": r, "tree": tree(img)}}

        # selection: the new layer gets a mask from it
        img = Gimp.Image.new(48, 40, Gimp.ImageBaseType.RGB)
        sel = make_layer(img, "Photo", 48, 40, pattern(48, 40, 8))
        img.select_rectangle(Gimp.ChannelOps.REPLACE, 8, 6, 16, 12)
        r = stylize(img, [sel], style_file=STYLE)
        new = img.get_layers()[0]
        out["selection"] = {{"result": r, "tree": tree(img),
                             "mask": mask_pixels(new) if new.get_mask() else None}}

        # gray: a greyscale image gets a grey + alpha layer
        img = Gimp.Image.new(40, 32, Gimp.ImageBaseType.GRAY)
        grey = make_layer(img, "Grey", 40, 32, pattern(40, 32, 10), gray=True)
        before = pixels(grey)
        r = stylize(img, [grey], style_file=STYLE)
        out["gray"] = {{"result": r, "tree": tree(img), "before": before,
                        "after": pixels(grey), "new": pixels(img.get_layers()[0])}}

        # style-layer: the style is a layer of another open image, blended with a file
        style_img = Gimp.Image.new(32, 32, Gimp.ImageBaseType.RGB)
        style_layer = make_layer(style_img, "Swatch", 32, 32, pattern(32, 32, 11))
        img = Gimp.Image.new(48, 40, Gimp.ImageBaseType.RGB)
        plain = make_layer(img, "Plain", 48, 40, pattern(48, 40, 12))
        r = stylize(img, [plain], style_source="layer", style_layer=style_layer,
                    style2_file=STYLE2, style2_weight=30.0, strength=70.0, seed=3,
                    iterations=10)  # 3 random-weight steps may round to the source's pixels
        out["style_layer"] = {{"result": r, "tree": tree(img),
                               "new": pixels(img.get_layers()[0])}}
        save_image(img, {p["png"]!r})
        emit(out)
        for image in Gimp.get_images():
            image.delete()
    """, timeout=180)
    return res.data[0], res.log


def by_name(tree: list[dict], name: str) -> dict:
    (item,) = [t for t in tree if t["name"] == name]
    return item


def test_one_layer_gets_a_new_layer_right_above(painted):
    out, log = painted
    case = out["single"]
    assert case["result"]["status"] == "success", (case["result"], log)
    names = [(t["name"], t["position"]) for t in case["tree"]]
    assert names == [(f"Paint — {STYLE}", 0), ("Paint", 1), ("Background", 2)]
    new, src = case["tree"][0], case["tree"][1]
    assert new["offsets"] == src["offsets"] == [7, 5]
    assert new["size"] == src["size"] == [40, 30]
    assert new["parent"] is None and new["type"] == "rgba-image" and not new["mask"]
    # the procedure returns the new layer, and leaves it selected
    assert case["result"]["layers"] == [new["id"]] == case["selected"]


def test_source_is_untouched_and_result_keeps_its_alpha(painted):
    out, _ = painted
    case = out["single"]
    before, after, new = rgba(case["before"]), rgba(case["after"]), rgba(case["new"])
    assert before == pattern(40, 30, 2, alpha=True)
    assert after == before  # the source layer was not modified
    assert alpha(new) == alpha(before)  # the daemon kept the source's alpha
    assert rgb(new) != rgb(before)  # and the style really changed the colours


def test_two_selected_layers_give_two_new_layers(painted):
    out, log = painted
    case = out["two"]
    assert case["result"]["status"] == "success", (case["result"], log)
    assert [t["name"] for t in case["tree"]] == [f"B — {STYLE}", "B", f"A — {STYLE}", "A"]
    new_a, new_b = by_name(case["tree"], f"A — {STYLE}"), by_name(case["tree"], f"B — {STYLE}")
    assert new_b["offsets"] == [10, 12] and new_b["size"] == [30, 20]
    assert new_a["offsets"] == [0, 0] and new_a["size"] == [48, 40]
    assert case["result"]["layers"] == [new_a["id"], new_b["id"]]  # in the drawables' order
    assert case["after"] == case["before"]


def test_layer_in_a_group_gets_its_result_in_the_same_group(painted):
    out, log = painted
    case = out["group"]
    assert case["result"]["status"] == "success", (case["result"], log)
    layout = [(t["name"], t["parent"], t["position"]) for t in case["tree"]]
    assert layout == [
        ("Group", None, 0),
        ("Top", "Group", 0),
        (f"Inner — {STYLE}", "Group", 1),
        ("Inner", "Group", 2),
        ("Background", None, 1),
    ]
    assert by_name(case["tree"], f"Inner — {STYLE}")["offsets"] == [4, 6]


def test_selection_becomes_the_new_layers_mask(painted):
    out, log = painted
    case = out["selection"]
    assert case["result"]["status"] == "success", (case["result"], log)
    assert case["tree"][0]["mask"] and not case["tree"][1]["mask"]
    mask = rgba(case["mask"])
    assert len(mask) == 48 * 40
    for y in range(40):
        for x in range(48):
            inside = 8 <= x < 24 and 6 <= y < 18
            assert mask[y * 48 + x] == (255 if inside else 0), (x, y)


def test_greyscale_image_gets_a_grey_layer(painted):
    out, log = painted
    case = out["gray"]
    assert case["result"]["status"] == "success", (case["result"], log)
    assert [(t["name"], t["type"]) for t in case["tree"]] == [
        (f"Grey — {STYLE}", "graya-image"), ("Grey", "graya-image")]
    assert case["after"] == case["before"]
    new = rgba(case["new"])
    assert all(new[i] == new[i + 1] == new[i + 2] for i in range(0, len(new), 4))
    assert rgb(new) != rgb(rgba(case["before"]))


def test_style_from_a_layer_blended_with_a_file(painted, files):
    out, log = painted
    case = out["style_layer"]
    assert case["result"]["status"] == "success", (case["result"], log)
    assert case["tree"][0]["name"] == f"Plain — Swatch + {STYLE2}"
    # checked from outside GIMP: the saved PNG shows the new (opaque, full-size) layer
    with Image.open(files["png"]) as im:
        assert im.size == (48, 40)
        saved = im.convert("RGBA").tobytes()
    assert saved == rgba(case["new"])
    assert saved != pattern(48, 40, 12)


def test_each_run_is_one_undo_group(painted):
    """GIMP's PDB has no undo call, so a headless batch cannot press Ctrl+Z: the plug-in's trace
    shows that every run wrapped all its inserts in exactly one undo group."""
    _, log = painted
    events = [t for t in trace_lines(log) if t.startswith(("undo group", "inserted"))]
    runs, current = [], None
    for e in events:
        if e == "undo group start":
            assert current is None, events
            current = []
        elif e == "undo group end":
            assert current is not None, events
            runs.append(len(current))
            current = None
        else:
            assert current is not None, f"layer inserted outside an undo group: {events}"
            current.append(e)
    assert current is None
    assert runs == [1, 2, 1, 1, 1, 1]  # one group per run, holding all of that run's layers


def test_saved_xcf_keeps_the_layers(impasto, painted, files):
    res = impasto.run(f"""
        img = load_image({impasto.path(files["xcf"])!r})
        emit([tree(img), [pixels(l) for l in img.get_layers()]])
        img.delete()
    """)
    layers, data = res.data[0]
    out, _ = painted
    assert [(t["name"], t["offsets"], t["size"]) for t in layers] == [
        (f"Paint — {STYLE}", [7, 5], [40, 30]), ("Paint", [7, 5], [40, 30]),
        ("Background", [0, 0], [64, 48])]
    assert data[0] == out["single"]["new"]
    assert rgba(data[1]) == pattern(40, 30, 2, alpha=True)


def test_progress_follows_the_daemon_and_labels_demo_weights(painted):
    _, log = painted
    shown = [t[len("progress: "):] for t in trace_lines(log) if t.startswith("progress: ")]
    demo = "[demo weights — not a real model] "
    # once the daemon measures, every line leads with the percentage done ("42 % · ")
    measured = [m.groups() for m in map(re.compile(r"(\d+) % · (.+)").fullmatch, shown) if m]
    assert measured, shown
    for prefix in (f"{demo}Painting 'Paint': ", f"{demo}Painting 'B' (2 of 2): "):
        painting = [(int(p), t[len(prefix):]) for p, t in measured if t.startswith(prefix)]
        assert painting, shown
        # the iterations asked for (3) are the cap of these one-scale jobs; the engine offers
        # no time left before 5 timed steps, so the line says it is estimating, never blank
        assert all(re.fullmatch(r"step [0-3]/3, estimating…", t) for _, t in painting), shown
        assert all(p < 100 for p, _ in painting), shown  # 100 % only once the job is done
    assert f"{demo}Reading the style for 'A' (1 of 2)…" in [t for _, t in measured], shown


LAST_VALUES = "GimpProcedureConfigRun-plug-in-impasto-stylize.last"


def test_with_last_vals_and_the_dialog_module(impasto, files):
    """WITH_LAST_VALS reads what the last INTERACTIVE run saved (GIMP saves only those): the
    file is written here the way GIMP writes it. The dialog cannot open without a display, so
    only its module is loaded in GIMP's Python and the GimpUi calls it makes are checked."""
    settings = impasto.gimp.profile / "plug-in-settings"
    settings.mkdir(exist_ok=True)
    last = settings / LAST_VALUES
    last.write_text(f'# settings\n\n(style-source "file")\n'
                    f'(style-file "file://{impasto.path(files["style"])}")\n'
                    '(size 0)\n(iterations 2)\n(strength 80.0)\n\n# end of settings\n')
    plugin_dir = impasto.path(impasto.gimp.profile / "plug-ins" / "impasto-stylize")
    try:
        res = impasto.run(f"""
            img = Gimp.Image.new(40, 32, Gimp.ImageBaseType.RGB)
            src = make_layer(img, "Photo", 40, 32, pattern(40, 32, 3))
            r = stylize(img, [src], run_mode=Gimp.RunMode.WITH_LAST_VALS)
            emit({{"result": r, "layers": [l.get_name() for l in img.get_layers()]}})
            img.delete()

            sys.path.insert(0, {plugin_dir!r})
            from impasto_gimp import dialog
            from gi.repository import GimpUi
            used = ["new", "get_label", "fill_box", "fill_frame", "fill", "set_sensitive_if_in",
                    "set_sensitive", "get_widget", "get_spin_scale", "run", "destroy"]
            emit({{"missing": [m for m in used if not hasattr(GimpUi.ProcedureDialog, m)],
                   "init": hasattr(GimpUi, "init"), "module": dialog.__name__}})
        """)
    finally:
        last.unlink()
    run, ui = res.data
    assert run["result"]["status"] == "success", (run, res.log)
    assert run["layers"] == [f"Photo — {STYLE}", "Photo"]
    # the saved 2 iterations are the cap (a line search may spend the evaluations before it)
    assert any(re.search(r"Painting 'Photo': step \d/2, estimating…$", t)
               for t in trace_lines(res.log))
    assert ui == {"missing": [], "init": True, "module": "impasto_gimp.dialog"}
