"""Every file the project writes goes through impasto_wire.safe_files (issue 19: "one safe file
writer"): this reads the sources of the daemon, the wire package and the GIMP plug-in and fails on
any other way of writing a file, so a new raw write cannot slip in. What is written *inside* a
``write_file(...)`` call (``torch.save`` or ``Image.save`` into the file object it hands over) is
the writer's. The few exceptions are listed below with their reason; an ``os.open`` among them
must refuse symlinks (``O_NOFOLLOW``)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "daemon", REPO / "shared", REPO / "gimp_plugin"]

# (file, enclosing function) -> why it may open a file for writing itself
ALLOWED = {
    ("shared/impasto_wire/safe_files.py", "_create_temporary"): "the writer itself",
    ("shared/impasto_wire/safe_files.py", "write_file"): "the writer itself",
    ("shared/impasto_wire/launcher.py", "_fresh_log"):
        "the daemon's log, O_NOFOLLOW in the private runtime folder (endpoints.runtime_dir)",
    ("shared/impasto_wire/launcher.py", "_close_log"): "the same log, O_NOFOLLOW",
    ("daemon/impasto_daemon/server/instance.py", "_lock_ipc"):
        "the ipc lock file beside the socket: O_NOFOLLOW, held with flock, never written",
    ("daemon/impasto_daemon/engine/execution/peak_memory.py", "reset"):
        "/proc/self/clear_refs, a kernel control file, not a file on disk",
}
# project functions that write through safe_files (checked below)
SAFE_WRAPPERS = {"daemon_config.save": ("shared/impasto_wire/daemon_config.py", "save")}
NOFOLLOW_REQUIRED = {key for key in ALLOWED if "O_NOFOLLOW" in ALLOWED[key]}

_WRITE_FLAGS = {"O_CREAT", "O_WRONLY", "O_RDWR", "O_TRUNC", "O_APPEND"}
_WRITING_CALLS = {"write_text", "write_bytes", "tofile", "mkstemp", "NamedTemporaryFile",
                  "copy", "copy2", "copyfile", "copytree", "move", "savez", "savez_compressed"}


def _name(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain, ``f`` for a name, else ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


def _flags(node: ast.AST) -> set[str]:
    """The names in a flags expression (``os.O_CREAT``, ``getattr(os, "O_NOFOLLOW", 0)``)."""
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)} | \
        {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
         and isinstance(n.value, str)}


def _mode_writes(call: ast.Call, position: int) -> bool:
    modes = [kw.value for kw in call.keywords if kw.arg == "mode"]
    if len(call.args) > position:
        modes.append(call.args[position])
    return any(isinstance(m, ast.Constant) and isinstance(m.value, str)
               and set(m.value) & set("wax+") for m in modes)


def write_kind(call: ast.Call) -> str | None:
    """What kind of raw file write ``call`` is, or None."""
    name = _name(call.func)
    last = name.rpartition(".")[2]
    if name == "os.open":
        if call.args and _name(call.args[0]) == "os.devnull":
            return None
        if len(call.args) > 1 and _flags(call.args[1]) & _WRITE_FLAGS:
            return "os.open"
        return None
    if name == "os.fdopen":  # a descriptor opened elsewhere: its os.open is what is checked
        return "fdopen" if _mode_writes(call, 1) else None
    if isinstance(call.func, ast.Name) and name == "open" or name == "io.open":
        return "open" if _mode_writes(call, 1) else None
    if last == "open" and isinstance(call.func, ast.Attribute):  # Path.open, gzip.open, ...
        return "open" if _mode_writes(call, 0) or _mode_writes(call, 1) else None
    if last == "save" and name not in SAFE_WRAPPERS:  # torch.save, np.save, Image.save, ...
        return "save"
    if last in _WRITING_CALLS and (last not in ("copy", "move") or name.startswith("shutil")):
        return last
    return None


def raw_writes(path: Path, root: Path = REPO) -> list[tuple[str, str, int, str, ast.Call]]:
    """(file, enclosing function, line, kind, call) for each raw write outside write_file()."""
    tree = ast.parse(path.read_text(), str(path))
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    rel = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        kind = write_kind(node)
        if kind is None:
            continue
        function, inside_writer, up = "<module>", False, parents.get(node)
        while up is not None:
            if isinstance(up, ast.Call) and _name(up.func).endswith("write_file"):
                inside_writer = True
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)) and function == "<module>":
                function = up.name
            up = parents.get(up)
        if not inside_writer:
            found.append((rel, function, node.lineno, kind, node))
    return found


def all_raw_writes() -> list[tuple[str, str, int, str, ast.Call]]:
    return [w for root in SOURCES for f in sorted(root.rglob("*.py"))
            if "__pycache__" not in f.parts for w in raw_writes(f)]


def test_every_file_is_written_through_safe_files():
    stray = [f"{rel}:{line} ({function}): {kind}" for rel, function, line, kind, _ in
             all_raw_writes() if (rel, function) not in ALLOWED]
    assert not stray, ("write these through impasto_wire.safe_files.write_file (or add them to "
                       "ALLOWED with the reason):\n" + "\n".join(stray))


def test_the_allowed_log_and_lock_files_refuse_symlinks():
    opened = [(rel, function, call) for rel, function, _, kind, call in all_raw_writes()
              if (rel, function) in NOFOLLOW_REQUIRED and kind == "os.open"]
    assert {(rel, function) for rel, function, _ in opened} >= {
        ("shared/impasto_wire/launcher.py", "_fresh_log"),
        ("shared/impasto_wire/launcher.py", "_close_log"),
        ("daemon/impasto_daemon/server/instance.py", "_lock_ipc")}
    for rel, function, call in opened:
        assert "O_NOFOLLOW" in _flags(call.args[1]), f"{rel} ({function}) follows symlinks"
    assert not [w for w in all_raw_writes()
                if (w[0], w[1]) in NOFOLLOW_REQUIRED and w[3] == "open"], \
        "open() by path follows symlinks: os.open(..., O_NOFOLLOW) then os.fdopen"


def test_the_safe_wrappers_write_through_safe_files():
    for rel, function in SAFE_WRAPPERS.values():
        tree = ast.parse((REPO / rel).read_text())
        [body] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
        assert any(isinstance(n, ast.Call) and _name(n.func) == "safe_files.write_file"
                   for n in ast.walk(body)), f"{rel}: {function} no longer uses safe_files"


def test_the_scan_sees_each_kind_of_raw_write(tmp_path):
    """The scanner itself: each way of writing a file is caught, a read is not, and what runs
    inside write_file() is the writer's."""
    sample = tmp_path / "sample.py"
    code = '''
import os, shutil, torch
from pathlib import Path
from impasto_wire import safe_files
def bad(p, obj, image):
    open(p, "w"); open(p, mode="ab"); Path(p).open("r+"); os.fdopen(3, "wb")
    os.open(p, os.O_WRONLY | os.O_CREAT); Path(p).write_text("x"); Path(p).write_bytes(b"")
    torch.save(obj, p); image.save(p); shutil.copy(p, p + "2")
def good(p, obj, image):
    open(p); open(p, "rb"); os.open(p, os.O_RDONLY); os.open(os.devnull, os.O_WRONLY)
    safe_files.write_file(p, lambda f: torch.save(obj, f))
    safe_files.write_file(p, lambda f: image.save(f, format="PNG"))
'''
    sample.write_text(code)
    found = raw_writes(sample, tmp_path)
    assert {f for _, f, *_ in found} == {"bad"}
    assert len(found) == 10, [(line, kind) for _, _, line, kind, _ in found]
