"""`impasto stylize --iterations` takes what the GIMP plug-in takes: 0 used to run, write the
unpainted starting picture (the photo in the style's colours) and report it done."""

from __future__ import annotations

import pytest

from impasto_daemon.cli.main import build_parser, main
from impasto_wire.limits import MAX_ITERATIONS, MIN_ITERATIONS


@pytest.mark.parametrize("value", [MIN_ITERATIONS - 1, MAX_ITERATIONS + 1, -5])
def test_iterations_outside_the_limit_are_refused_before_any_work(tmp_path, capsys, value):
    out = tmp_path / "painted.png"
    with pytest.raises(SystemExit) as stop:
        main(["stylize", str(tmp_path / "photo.jpg"), str(tmp_path / "style.jpg"),
              "--iterations", str(value), "-o", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --iterations: must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}, " \
           f"not {value}" in err, err
    assert not out.exists()


def test_the_limit_itself_is_accepted():
    parser = build_parser()
    for value in (MIN_ITERATIONS, MAX_ITERATIONS):
        args = parser.parse_args(["stylize", "a.jpg", "b.jpg", "--iterations", str(value),
                                  "-o", "c.png"])
        assert args.iterations == value
