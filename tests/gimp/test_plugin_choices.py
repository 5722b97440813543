"""What the dialog offers and refuses, and how the preview is sized: the plug-in's GIMP-free
helpers, run in the project's venv (the real dialog is in test_plugin_dialog.py)."""

from __future__ import annotations

import sys

import pytest
from plugin_fixtures import PLUGIN_SRC

sys.path.insert(0, str(PLUGIN_SRC))
from impasto_gimp import configured, daemon_link, options, progress  # noqa: E402

from impasto_wire import daemon_config  # noqa: E402

GOOD = options.Options(size=0, iterations=2)


def test_offered_networks_come_from_the_daemon_then_the_configuration():
    assert options.offered_models(["vgg16"], ["vgg19"]) == ["vgg16"]  # the daemon wins
    assert options.offered_models(None, ["vgg16"]) == ["vgg16"]  # no daemon yet
    assert options.offered_models(None, None) == ["vgg19", "vgg16"]  # nothing known
    assert options.offered_models(["vgg16", "alexnet", "vgg19"], None) == ["vgg19", "vgg16"]


def test_dialog_starts_on_a_network_that_works():
    assert options.pick_model(["vgg16"], "vgg19") == "vgg16"
    assert options.pick_model(["vgg19", "vgg16"], "vgg16") == "vgg16"  # the last choice stays
    assert options.pick_model(["vgg19", "vgg16"], "alexnet", preferred="vgg16") == "vgg16"


@pytest.mark.parametrize("source, has_file, has_layer, opts, offered, words", [
    ("file", False, False, GOOD, ["vgg19"], "Choose a style image"),
    ("layer", True, False, GOOD, ["vgg19"], "Choose a style layer"),
    ("file", True, False, options.Options(iterations=0), ["vgg19"], "Iterations must be"),
    ("file", True, False, options.Options(model="vgg16"), ["vgg19"],
     "VGG16 is not loaded by the daemon; choose VGG19"),
    ("file", True, False, GOOD, [], "no network loaded"),
])
def test_ok_is_refused_with_the_reason(source, has_file, has_layer, opts, offered, words):
    assert words in options.refusal(opts, source, has_file, has_layer, offered)


def test_ok_is_accepted_when_the_settings_can_run():
    assert options.refusal(GOOD, "file", True, False, ["vgg19"]) is None
    assert options.refusal(GOOD, "file", False, True, ["vgg19"]) is None  # a layer will do
    assert options.refusal(GOOD, "layer", False, True, ["vgg19"]) is None


def test_iterations_zero_is_refused_in_words():
    with pytest.raises(options.OptionsError, match="not 0 .*300 is the usual choice"):
        options.Options(iterations=0).validate()
    assert options.ITERATIONS_DECLARED_MIN == 0 < options.ITERATIONS_MIN  # 0 reaches validate


@pytest.mark.parametrize("size, shown", [((128, 102), (256, 204)), ((40, 32), (256, 205)),
                                         ((16, 64), (64, 256)), ((300, 300), (256, 256))])
def test_preview_is_fitted_to_the_window(size, shown):
    assert progress.preview_size(*size) == shown


def test_configured_networks_are_read_from_the_file_install_sh_named(tmp_path, monkeypatch):
    monkeypatch.setattr(daemon_link, "CONFIG_POINTER", tmp_path / "daemon-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing-here"))
    monkeypatch.delenv("IMPASTO_CONFIG", raising=False)
    assert configured.read() == configured.Configured(None, None)
    cfg = tmp_path / "daemon.toml"
    cfg.write_text(daemon_config.render(daemon_config.ConfigFile(models=["vgg16"])))
    (tmp_path / "daemon-config").write_text(f"{cfg}\n")
    assert configured.read() == configured.Configured(["vgg16"], "vgg16")
    cfg.write_text("[daemon]\nmodels = [\"alexnet\"]\n")
    broken = configured.read()
    assert broken.models is None and "unusable" in broken.note and "alexnet" in broken.note
