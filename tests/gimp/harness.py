"""Drive a real, headless GIMP 3 from tests (stdlib only; runs in the project's venv).

GIMP 3 comes from ``tests/gimp/get_gimp.sh``: on Debian 13 it is the host's own GIMP ("host" mode);
elsewhere it lives in a Debian 13 root directory and is run with ``chroot`` ("chroot" mode; as a
non-root user through ``unshare --user --map-root-user``). Every GIMP run happens in a private mount
namespace, so the bind mounts the harness sets up vanish with the process: nothing to clean up.

Inside that namespace GIMP sees, at the same paths as on the host:
  * the repository (so ``shared/impasto_wire`` etc. are importable by path),
  * the project venv and its base interpreter (``sys.prefix`` / ``sys.base_prefix``), so a plug-in
    can start ``<repo>/.venv/bin/impasto-daemon`` on demand,
  * ``/dev``, ``/proc``, ``/sys`` (GIMP does not need them; a daemon started from GIMP does).
The chroot shares the host's network namespace: ``tcp://127.0.0.1:PORT`` reaches the host.

API
---
``ensure_gimp() -> GimpInstall``          run get_gimp.sh once per process; ``.mode``, ``.root``
``can_run() -> tuple[bool, str]``         False + reason when neither root nor user namespaces
``GimpRunner(install=None, *, binds=None, env=None, timeout=120.0)``
    ``.profile``  host path of the throwaway GIMP profile (kept for the runner's life: warm starts)
    ``.xchg``     host path of an exchange folder GIMP can read and write
    ``.root_path(host_path) -> str``     the path GIMP sees for a host path
    ``.host_path(gimp_path) -> Path``    the host path for a path GIMP sees
    ``.install_plugin(src_dir, name=None, extra=()) -> Path``  copy a plug-in folder (+ extra
          package dirs/files such as ``shared/impasto_wire``) to ``PROFILE/plug-ins/NAME/``
    ``.write_plugin(name, source, extra=()) -> Path``   same, from a source string
    ``.remove_plugin(name)``
    ``.warm() -> GimpResult``            one empty run: the slow first plug-in query happens here
    ``.run_batch(code, *, timeout=None, env=None, check=True, hide_python_modules=())``
          run Python batch code (python-fu-eval) wrapped so that any exception gives a non-zero
          result with the traceback; ``check=True`` raises ``GimpBatchError`` on failure.
          ``hide_python_modules=("zmq", "msgpack")`` makes GIMP's system copies of those packages
          invisible for that run (proves vendored wheels work).
    ``.run_raw(code, ...) -> GimpResult`` the same without the wrapper (what a user would type)
    ``.run_tool(argv, *, env=None, timeout=30) -> CompletedProcess``  another program of GIMP's
          system in the same environment (e.g. its python3 taking a screenshot with Gdk)
    ``.close()``                          delete the profile and exchange folder
``GimpResult``: ``returncode``, ``stdout``, ``stderr``, ``log`` (both streams minus known noise and
    harness markers), ``data`` (objects passed to ``emit()``), ``seconds``, ``timed_out``, ``ok``,
    ``check()``.

Names available to batch code (besides everything python-fu-eval offers):
    ``Gimp, Gio, GLib, GObject, Gegl``
    ``run_procedure(name, *, drawables=None, **props) -> list``  look up a PDB procedure, fill its
        config (``style_file=`` sets "style-file"; run-mode defaults to NONINTERACTIVE), run it,
        raise ``RuntimeError`` unless it returned SUCCESS; returns the values after the status.
    ``new_image(width, height, rgba=None, name="layer") -> (image, layer)``  RGB image with one
        RGBA layer, filled with ``rgba`` bytes (width*height*4) when given
    ``load_image(path)``, ``save_image(image, path)`` (type from the extension; PNG flattens)
    ``read_pixels(drawable) -> bytes``, ``write_pixels(drawable, data)``  "R'G'B'A u8"
    ``emit(obj)``  send a JSON-able object back to the test (``result.data``)

Usage::

    from harness import GimpRunner
    gimp = GimpRunner()                        # or the session fixture ``gimp`` in conftest.py
    gimp.install_plugin(REPO / "gimp_plugin/impasto-stylize", extra=[REPO / "shared/impasto_wire"])
    out = gimp.xchg / "out.png"
    res = gimp.run_batch(f'''
    img, layer = new_image(32, 24, bytes([255, 0, 0, 255]) * (32 * 24))
    run_procedure("plug-in-impasto-stylize", image=img, drawables=[layer])
    save_image(img, {gimp.root_path(out)!r})
    emit({{"layers": len(img.get_layers())}})
    ''')
    assert res.data == [{"layers": 2}] and out.exists()
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
GET_GIMP = HERE / "get_gimp.sh"
GIMP_CONSOLE = "gimp-console-3.0"
DIST_PACKAGES = "/usr/lib/python3/dist-packages"  # where Debian's python3-* packages live

_MARK_OK = "IMPASTO-BATCH-OK"
_MARK_FAILED = "IMPASTO-BATCH-FAILED"
_MARK_EMIT = "IMPASTO-EMIT "

# Lines every headless run prints that mean nothing (GIMP3.md gotcha 11, plus what 3.0.4 adds).
NOISE_PATTERNS = [
    re.compile(p)
    for p in (
        r"^\s*$",
        r"cannot open display",
        r"^GIMP-Warning: Welcome to GIMP",
        r"gimp_flush\(\): error: Broken pipe",
        r"gimp_wire_read\(\): unexpected EOF",
        r"^Failed to parse tag cache",
        r"^batch command executed successfully$",
    )
]


class GimpBatchError(AssertionError):
    """A GIMP run failed: non-zero exit, a batch exception, or a timeout. str() holds the log."""

    def __init__(self, message: str, result: GimpResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class GimpInstall:
    mode: str  # "chroot" or "host"
    root: Path  # the Debian 13 root ("/" in host mode)


@dataclass
class GimpResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    wrapped: bool = True  # run through run_batch (markers expected)
    log: str = ""
    data: list = field(default_factory=list)

    def __post_init__(self) -> None:
        stderr = self.stderr
        if self.wrapped and _MARK_FAILED in stderr:
            # Our wrapper already printed the traceback: drop GIMP's copy of it and its echo of
            # the whole wrapped batch code.
            stderr = re.sub(
                r"batch command experienced a calling error:\n.*?(?=^Stopping at failing)",
                "",
                stderr,
                flags=re.S | re.M,
            )
            stderr = re.sub(
                r"^(Stopping at failing batch command \[\d+\]):.*?(?=^\S*\(python-eval|\Z)",
                r"\1\n",
                stderr,
                flags=re.S | re.M,
            )
        lines = []
        for line in (stderr + "\n" + self.stdout).splitlines():
            if line.startswith(_MARK_EMIT):
                self.data.append(json.loads(line[len(_MARK_EMIT) :]))
            elif line in (_MARK_OK, _MARK_FAILED):
                continue
            elif not any(p.search(line) for p in NOISE_PATTERNS):
                lines.append(line)
        self.log = "\n".join(lines)

    @property
    def batch_ok(self) -> bool:
        """The wrapped batch code ran to its end (always True for run_raw)."""
        return not self.wrapped or _MARK_OK in self.stderr.splitlines()

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.batch_ok

    def check(self) -> GimpResult:
        if not self.ok:
            why = (
                "timed out"
                if self.timed_out
                else f"exit code {self.returncode}"
                if self.returncode
                else "batch code did not finish"
            )
            raise GimpBatchError(f"GIMP run failed ({why}). GIMP log:\n{self.log}", self)
        return self


# ------------------------------------------------------------------------------------------------
# Getting GIMP
# ------------------------------------------------------------------------------------------------
_INSTALL: GimpInstall | None = None


def ensure_gimp(timeout: float = 3600.0) -> GimpInstall:
    """Run get_gimp.sh (idempotent, fast when ready) once per process and return what it made.

    Its progress goes to our stderr; raises RuntimeError with its output when it fails."""
    global _INSTALL
    if _INSTALL is None:
        proc = subprocess.run(
            ["bash", str(GET_GIMP)], capture_output=True, text=True, timeout=timeout
        )
        sys.stderr.write(proc.stderr)
        if proc.returncode != 0:
            raise RuntimeError(f"get_gimp.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        last = proc.stdout.strip().splitlines()[-1]
        kv = dict(item.split("=", 1) for item in shlex.split(last))
        _INSTALL = GimpInstall(mode=kv["IMPASTO_GIMP_MODE"], root=Path(kv["IMPASTO_GIMP_ROOT"]))
    return _INSTALL


def can_run() -> tuple[bool, str]:
    """Whether this process can run GIMP in a private mount namespace (root, or user namespaces)."""
    if shutil.which("unshare") is None:
        return False, "util-linux 'unshare' is not installed"
    cmd = ["unshare", "--mount", "true"]
    if os.geteuid() != 0:
        cmd = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot create a mount namespace: {exc}"
    if proc.returncode != 0:
        return False, f"cannot create a mount namespace ({' '.join(cmd)}): {proc.stderr.strip()}"
    return True, ""


# ------------------------------------------------------------------------------------------------
# Code that runs inside GIMP's python-fu-eval before the test's batch code
# ------------------------------------------------------------------------------------------------
_PRELUDE = r"""
import json as _json, os, sys
import gi
gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gimp, Gio, GLib, GObject, Gegl

_FMT = "R'G'B'A u8"


def emit(obj):
    sys.stderr.write("IMPASTO-EMIT " + _json.dumps(obj) + "\n")
    sys.stderr.flush()


def run_procedure(name, *, drawables=None, **props):
    proc = Gimp.get_pdb().lookup_procedure(name)
    if proc is None:
        raise RuntimeError(f"procedure {name!r} not found (plug-in not loaded? see the GIMP log)")
    cfg = proc.create_config()
    known = {p.name for p in cfg.list_properties()}
    if "run-mode" in known and "run_mode" not in props:
        cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    for key, value in props.items():
        key = key.replace("_", "-")
        if key not in known:
            raise RuntimeError(f"{name} has no argument {key!r}; it has {sorted(known)}")
        cfg.set_property(key, value)
    if drawables is not None:
        cfg.set_core_object_array("drawables", list(drawables))
    result = proc.run(cfg)
    status = result.index(0)
    values = [result.index(i) for i in range(1, result.length())]
    if status != Gimp.PDBStatusType.SUCCESS:
        raise RuntimeError(f"{name} returned {status.value_nick}: {values}")
    return values


def new_image(width, height, rgba=None, name="layer"):
    image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(image, name, width, height, Gimp.ImageType.RGBA_IMAGE, 100.0,
                           Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    if rgba is not None:
        write_pixels(layer, rgba)
    return image, layer


def read_pixels(drawable):
    w, h = drawable.get_width(), drawable.get_height()
    return bytes(drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, _FMT,
                                           Gegl.AbyssPolicy.CLAMP))


def write_pixels(drawable, data):
    w, h = drawable.get_width(), drawable.get_height()
    if len(data) != w * h * 4:
        raise ValueError(f"write_pixels: {len(data)} bytes for {w}x{h} RGBA")
    buf = drawable.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, w, h), _FMT, bytes(data))
    buf.flush()
    drawable.update(0, 0, w, h)


def load_image(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(str(path)))


def save_image(image, path):
    if not Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(str(path)),
                          None):
        raise RuntimeError(f"saving {path} failed")
"""

# python-fu-eval exec()s the -b code in its own globals. The prelude and the test's code are read
# from files (tracebacks then show source lines, and an argument is capped at 128 KiB by Linux)
# and run in a fresh namespace so that a name the test defines cannot clash with python-eval's.
_WRAPPER = r"""
import sys as _impasto_sys, traceback as _impasto_tb
try:
    _impasto_ns = {"__name__": "__impasto_batch__"}
    for _impasto_f in (%(prelude)r, %(code)r):
        with open(_impasto_f, encoding="utf-8") as _impasto_fh:
            exec(compile(_impasto_fh.read(), _impasto_f, "exec"), _impasto_ns)
except BaseException:
    _impasto_sys.stderr.write(_impasto_tb.format_exc() + "%(failed)s\n")
    _impasto_sys.stderr.flush()
    raise
_impasto_sys.stdout.flush()
_impasto_sys.stderr.write("%(ok)s\n")
_impasto_sys.stderr.flush()
"""


# ------------------------------------------------------------------------------------------------
# The runner
# ------------------------------------------------------------------------------------------------
def _within(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


class GimpRunner:
    """One throwaway GIMP profile (warm across runs) plus an exchange folder. Not thread-safe:
    runs on one profile must not overlap (give each pytest-xdist worker its own runner)."""

    def __init__(
        self,
        install: GimpInstall | None = None,
        *,
        binds: Iterable[str | os.PathLike] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ):
        self.install = install or ensure_gimp()
        self.root = self.install.root.resolve()
        self.chroot = self.install.mode == "chroot"
        self.timeout = timeout
        self.env = dict(env or {})
        if binds is None:
            binds = [REPO_ROOT, sys.prefix, sys.base_prefix]
        self.binds = self._minimal_binds(binds) if self.chroot else []
        self._base = Path(tempfile.mkdtemp(prefix="impasto-gimp-", dir=self.root / "tmp"))
        os.chmod(self._base, 0o755)
        self.profile = self._base / "profile"
        self.xchg = self._base / "xchg"
        (self.profile / "home").mkdir(parents=True)
        (self.profile / "plug-ins").mkdir()
        self.xchg.mkdir()
        self._batches = 0
        os.chmod(self.xchg, 0o1777)  # a plug-in or daemon running as another user may write here

    # -- paths ----------------------------------------------------------------------------------
    @staticmethod
    def _minimal_binds(paths: Iterable[str | os.PathLike]) -> list[Path]:
        """Absolute, existing, de-duplicated, and without folders nested in another one."""
        existing = {Path(p).resolve() for p in paths if Path(p).exists()}
        uniq = sorted(existing, key=lambda p: len(p.parts))
        out: list[Path] = []
        for p in uniq:
            if p == Path("/"):
                raise ValueError("cannot bind-mount / into the GIMP root")
            if not any(_within(p, q) for q in out):
                out.append(p)
        return out

    def root_path(self, host_path: str | os.PathLike) -> str:
        """The path GIMP (inside the root) sees for a host path."""
        p = Path(host_path).resolve()
        if not self.chroot or any(_within(p, b) for b in self.binds):
            return str(p)
        if _within(p, self.root):
            return "/" + str(p.relative_to(self.root)) if p != self.root else "/"
        raise ValueError(f"{p} is not visible inside the GIMP root (use runner.xchg or binds=)")

    def host_path(self, gimp_path: str | os.PathLike) -> Path:
        """The host path of a path as GIMP sees it."""
        p = Path(gimp_path)
        if not p.is_absolute():
            raise ValueError(f"expected an absolute path, got {p}")
        if not self.chroot or any(_within(p, b) for b in self.binds):
            return p
        return self.root / p.relative_to("/")

    # -- plug-ins -------------------------------------------------------------------------------
    def _plugin_dir(self, name: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
            raise ValueError(f"bad plug-in name {name!r}")
        return self.profile / "plug-ins" / name

    def _finish_plugin(self, dest: Path, name: str, extra: Sequence[str | os.PathLike]) -> Path:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for item in map(Path, extra):
            target = dest / item.name
            if item.is_dir():
                # copy, not copy2: fresh mtimes make GIMP re-query the plug-in (GIMP3.md gotcha 4)
                shutil.copytree(
                    item, target, ignore=ignore, copy_function=shutil.copy, dirs_exist_ok=True
                )
            else:
                shutil.copy(item, target)
        script = dest / f"{name}.py"
        if not script.is_file():
            raise ValueError(f"{script} missing: the script must be named like its folder")
        if not script.read_text().startswith("#!"):
            raise ValueError(f"{script} must start with '#!/usr/bin/env python3'")
        script.chmod(0o755)
        return dest

    def install_plugin(
        self,
        src_dir: str | os.PathLike,
        name: str | None = None,
        extra: Sequence[str | os.PathLike] = (),
    ) -> Path:
        """Copy plug-in folder ``src_dir`` to ``PROFILE/plug-ins/NAME/`` (replacing an older copy)
        with each of ``extra`` (package folders or files) next to the script. Returns the folder."""
        src = Path(src_dir)
        name = name or src.name
        dest = self._plugin_dir(name)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(
            src,
            dest,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            copy_function=shutil.copy,
        )
        return self._finish_plugin(dest, name, extra)

    def write_plugin(self, name: str, source: str, extra: Sequence[str | os.PathLike] = ()) -> Path:
        """Install a one-file plug-in from a source string (dedented)."""
        dest = self._plugin_dir(name)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        (dest / f"{name}.py").write_text(textwrap.dedent(source).lstrip())
        return self._finish_plugin(dest, name, extra)

    def remove_plugin(self, name: str) -> None:
        shutil.rmtree(self._plugin_dir(name), ignore_errors=True)

    # -- running --------------------------------------------------------------------------------
    def _hide_farm(self, modules: Sequence[str]) -> Path:
        """A folder of symlinks to every entry of dist-packages except ``modules`` (and their
        dist-info/egg-info, and the "py"-prefixed distribution names such as pyzmq). It is mounted
        over dist-packages, the real one being mounted at ``farm/../real`` for the links."""
        hide = Path(tempfile.mkdtemp(prefix="hide-", dir=self._base))
        farm, real = hide / "farm", hide / "real"
        farm.mkdir()
        real.mkdir()
        names = set(modules) | {"py" + m for m in modules}
        src = self.root / DIST_PACKAGES.lstrip("/") if self.chroot else Path(DIST_PACKAGES)
        for entry in sorted(os.listdir(src)):
            base = re.split(r"[-.]", entry, maxsplit=1)[0]
            if base not in names:
                (farm / entry).symlink_to(Path(self.root_path(real)) / entry)
        return hide

    def _command(
        self, gimp_argv: list[str], env: Mapping[str, str], hide: Path | None
    ) -> list[str]:
        """``unshare`` + a small sh script doing the mounts, then (chroot +) env -i + GIMP."""
        q = shlex.quote
        lines = ["set -e"]

        def bind(host: Path | str, inside: Path | str, recursive: bool = False) -> None:
            lines.append(f"mkdir -p {q(str(inside))}")
            how = "--rbind" if recursive else "--bind"
            lines.append(f"mount {how} {q(str(host))} {q(str(inside))}")

        if self.chroot:
            for sysdir in ("/dev", "/proc", "/sys"):
                bind(sysdir, self.root / sysdir.lstrip("/"), recursive=True)
            for b in self.binds:
                bind(b, self.root / str(b).lstrip("/"))
        if hide is not None:
            dist = self.host_path(DIST_PACKAGES) if self.chroot else Path(DIST_PACKAGES)
            bind(dist, hide / "real")
            bind(hide / "farm", dist)
        envv = ["env", "-i"] + [f"{k}={v}" for k, v in env.items()]
        inner = (["chroot", str(self.root)] if self.chroot else []) + envv + gimp_argv
        lines.append('exec "$@"')
        ns = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            ns = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
        return ns + ["sh", "-c", "\n".join(lines), "impasto-gimp"] + inner

    def _run(
        self,
        code: str,
        *,
        wrapped: bool,
        timeout: float | None,
        env: Mapping[str, str] | None,
        hide_python_modules: Sequence[str],
    ) -> GimpResult:
        prof = self.root_path(self.profile)
        full_env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": f"{prof}/home",
            "GIMP3_DIRECTORY": prof,
            **self.env,
            **(env or {}),
        }
        hide = self._hide_farm(hide_python_modules) if hide_python_modules else None
        argv = [GIMP_CONSOLE, "-i", "--batch-interpreter=python-fu-eval", "-b", code, "--quit"]
        cmd = self._command(argv, full_env, hide)
        timeout = self.timeout if timeout is None else timeout
        # Output goes to files, not pipes: a daemon that a plug-in starts may inherit GIMP's
        # stdout/stderr and would keep a pipe open long after GIMP has quit.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
            timed_out = False
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)  # GIMP and its plug-in processes
                rc = proc.wait()
            seconds = time.monotonic() - t0
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        if hide is not None:
            shutil.rmtree(hide, ignore_errors=True)
        return GimpResult(rc, stdout, stderr, seconds, timed_out, wrapped)

    def run_batch(
        self,
        code: str,
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        hide_python_modules: Sequence[str] = (),
    ) -> GimpResult:
        """Run Python batch ``code`` (dedented) in GIMP with the prelude's helpers available.
        ``env`` adds variables to GIMP's (tiny) environment; plug-ins inherit them."""
        self._batches += 1
        prelude = self._base / "prelude.py"
        if not prelude.exists():
            prelude.write_text(_PRELUDE, encoding="utf-8")
        batch = self._base / f"batch-{self._batches}.py"
        batch.write_text(textwrap.dedent(code).strip() + "\n", encoding="utf-8")
        wrapped = _WRAPPER % {
            "prelude": self.root_path(prelude),
            "code": self.root_path(batch),
            "ok": _MARK_OK,
            "failed": _MARK_FAILED,
        }
        try:
            res = self._run(
                wrapped,
                wrapped=True,
                timeout=timeout,
                env=env,
                hide_python_modules=hide_python_modules,
            )
        finally:
            batch.unlink(missing_ok=True)
        return res.check() if check else res

    def run_raw(
        self,
        code: str,
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        hide_python_modules: Sequence[str] = (),
    ) -> GimpResult:
        """Run ``code`` exactly as given to ``-b`` (no prelude, no markers, never raises)."""
        return self._run(
            code, wrapped=False, timeout=timeout, env=env, hide_python_modules=hide_python_modules
        )

    def run_tool(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Run a program of GIMP's system (e.g. its ``python3`` with Gdk) the way GIMP runs:
        same root, binds and small environment. Output is captured as text."""
        full_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
        return subprocess.run(self._command(list(argv), full_env, None), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def warm(self) -> GimpResult:
        """Start GIMP once so that the slow first query of all plug-ins is done."""
        return self.run_batch("pass")

    def close(self) -> None:
        shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> GimpRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
