"""The one way Impasto writes a file: results, imported weights, the configuration, the endpoint
and token files, CurveZMQ keys; shell scripts reach it as ``python -m impasto_wire.safe_files
write PATH MODE < CONTENT`` (``main``). Standard library only, Python 3.9+.

An output may sit in a folder other users can write in (a shared project folder, /tmp). There a
second user can plant a symlink at the output's name, or swap our temporary file for a symlink
while we write it, hoping we change *their choice* of file: a victim's pictures overwritten, a
0600 file made 0644. So every write here:

* creates the temporary file under a random name with ``O_CREAT|O_EXCL|O_NOFOLLOW`` (a name
  planted beforehand, symlink or not, makes the open fail instead of being followed);
* sets the mode on the open descriptor (``fchmod``), never by path, then ``fsync``-s it;
* checks that the name still leads to the file it wrote before renaming it into place (a swap
  is refused; ``rename`` itself never follows a symlink), and syncs the folder;
* follows a symlink at the output only when the link and what it points to are both ours. A
  link another user made, or one to another user's file, is refused (UnsafeTarget) unless
  ``force``: then the link itself is replaced by the new file, and what it points to is left
  alone. We never write *through* someone else's link, even when asked to.

The mode of a replaced file is kept only when that file was ours: a file another user put at the
name (say mode 0777) never passes its permissions on to our result.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Union

PathLike = Union[str, "os.PathLike[str]"]
Content = Union[bytes, Callable[[BinaryIO], None]]


class UnsafeTarget(Exception):
    """Writing there would change a file someone else chose for us; the text says what to do."""


def _uid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else 0


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def resolve_target(path: PathLike, force: bool = False) -> Path:
    """The file a write to ``path`` will replace: ``path`` itself, or where our own symlink
    points. Raises UnsafeTarget for another user's link (or a link to another user's file)
    unless ``force``, which makes the link itself the target; IsADirectoryError for a folder."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a folder; give a file name", str(path))
    if not stat.S_ISLNK(st.st_mode):
        return path
    real = Path(os.path.realpath(path))
    try:
        target_uid: int | None = os.stat(real).st_uid
    except OSError:
        target_uid = None  # dangling: whoever made the link chose where we would create a file
    me = _uid()
    if st.st_uid == me and target_uid in (me, None):
        if real.is_dir():
            raise IsADirectoryError(21, "leads to a folder; give a file name", str(path))
        return real
    if force:
        return path
    who = (f"made by {_owner(st.st_uid)}" if st.st_uid != me
           else f"to a file of {_owner(target_uid)}" if target_uid is not None else "")
    raise UnsafeTarget(
        f"{path} is a symbolic link {who} (to {real}), so writing there would replace a file "
        "someone else chose; remove the link, write elsewhere, or pass --force to replace the "
        "link itself (what it points to is left alone)")


def _default_mode(existing: Path) -> int:
    """An own existing file's permissions, else what a new file gets under the umask."""
    try:
        st = os.lstat(existing)
        if stat.S_ISREG(st.st_mode) and st.st_uid == _uid():
            return stat.S_IMODE(st.st_mode) & 0o777
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new file only we opened: random name, never through a symlink, mode 0600 meanwhile."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    for _ in range(16):
        tmp = folder / f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            return os.open(str(tmp), flags, 0o600), tmp
        except FileExistsError:
            continue  # planted, or (unlikely) a collision: another random name
    raise FileExistsError(17, "cannot create a temporary file (every name tried exists)",
                          str(folder))


def _same_file(fd: int, tmp: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.lstat(tmp)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_writable(path: PathLike, force: bool = False) -> Path:
    """Fail now, before any work, when ``write_file(path)`` would fail later: an unsafe link,
    a folder, a missing folder or one we cannot create files in (OSError / UnsafeTarget)."""
    target = resolve_target(path, force)
    if not target.parent.is_dir():
        raise FileNotFoundError(2, f"the folder {target.parent} does not exist", str(path))
    fd, tmp = _create_temporary(target.parent, target.name)
    os.close(fd)
    os.unlink(tmp)
    return target


def write_file(path: PathLike, content: Content, *, mode: int | None = None,
               force: bool = False, exclusive: bool = False) -> Path:
    """Write ``content`` (bytes, or a function writing into a binary file) to ``path`` atomically.

    ``mode``: the file's permissions (default: an own replaced file's, else 0666 minus the
    umask). ``exclusive``: never replace an existing file (FileExistsError). On any failure
    the previous file is untouched and our temporary file removed. Returns the file written.
    """
    target = resolve_target(path, force)
    fd, tmp = _create_temporary(target.parent, target.name)
    try:
        with os.fdopen(os.dup(fd), "wb") as f:
            if isinstance(content, (bytes, bytearray, memoryview)):
                f.write(content)
            else:
                content(f)
            f.flush()
        os.fchmod(fd, _default_mode(target) if mode is None else mode)
        os.fsync(fd)
        if not _same_file(fd, tmp):
            raise UnsafeTarget(
                f"the temporary file {tmp} was replaced by someone else while it was being "
                f"written; nothing was written to {path} (write it in a folder only you can "
                "change)")
        if exclusive:
            _link_new(tmp, target)
        else:
            os.rename(tmp, target)
    except BaseException:
        if _same_file(fd, tmp):  # only ever remove the file we created
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    finally:
        os.close(fd)
    sync_folder(target.parent)
    return target


def _link_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` only if that name is free (a hard link fails when it
    exists). A file system without hard links gets a check then a rename instead."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(target):
            raise FileExistsError(17, "exists; not replacing it", str(target)) from None
        os.rename(tmp, target)
        return
    os.unlink(tmp)


def sync_folder(folder: PathLike) -> None:
    """Make a rename durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """``python -m impasto_wire.safe_files write PATH MODE < CONTENT``: the same write for shell
    scripts (install.sh writes its configuration, manifest and unit with it). MODE is octal.
    Status 0 when written; 1 with one line on stderr when it could not be; 2 for bad usage."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    mode = None
    if len(args) == 3 and args[0] == "write":
        try:
            mode = int(args[2], 8)
        except ValueError:
            pass
    if mode is None or not 0 <= mode <= 0o777:
        print("usage: python -m impasto_wire.safe_files write PATH MODE(octal) < CONTENT",
              file=sys.stderr)
        return 2
    try:
        write_file(args[1], sys.stdin.buffer.read(), mode=mode)
    except UnsafeTarget as exc:
        print(f"cannot write {args[1]}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot write {args[1]}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
