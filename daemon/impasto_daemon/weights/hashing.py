"""SHA-256 of weight files and the two ways a file can declare the hash it must have."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .info import WeightsError

# torch hub's convention: "<name>-<first hex digits of the SHA-256>.pth", e.g. vgg19-dcbb9e9d.pth.
# We require at least 8 digits so ordinary names such as "style-ab.pth" are not taken for it.
_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})\.(?:pth|pt)$")
_SOURCE_HASH = re.compile(r"^(?P<path>.+)#sha256=(?P<hex>[0-9a-fA-F]{8,64})$")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, streamed so a 550 MB checkpoint never sits in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def hash_prefix_in_name(path: Path) -> str | None:
    """The hash prefix a torch-hub style file name promises, or None for other names."""
    match = _NAME_HASH.search(path.name)
    return match.group(1) if match else None


def split_expected_hash(source: str) -> tuple[str, str | None]:
    """Split "PATH#sha256=HEX" into (PATH, hex); a plain path gives (path, None).

    The hash rides on the source string because the weights source is one value everywhere
    (`--weights`, the daemon config, the engine), so no extra option has to be threaded
    through. 8 to 64 hex digits are accepted and compared as a prefix.
    """
    match = _SOURCE_HASH.match(source)
    if not match:
        if "#sha256=" in source:
            raise WeightsError(
                f"bad expected hash in {source!r}: write PATH#sha256=HEX with 8 to 64 hex digits"
            )
        return source, None
    return match.group("path"), match.group("hex").lower()


def check_hash(path: Path, actual: str, expected: str, why: str) -> None:
    """Refuse a file whose SHA-256 does not start with what was promised."""
    if not actual.startswith(expected):
        raise WeightsError(
            f"{path} is corrupt or has been tampered with: its SHA-256 is {actual}, "
            f"but {why} promises {expected}... Delete it and get the file again."
        )
