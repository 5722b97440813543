"""Run the engine as it was at an earlier commit, in a subprocess, for side-by-side timing.

    python benchmarks/previous_engine.py --rev eeb1bc7 --size 512 --content A.png --style B.png

The old ``impasto_daemon`` and ``impasto_wire`` are exported from git into a temporary folder
and imported from there (the installed ones would shadow nothing: the subprocess's path starts
with the old tree). Prints one JSON line: seconds, iterations, sizes, final loss.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the engine before issue 9's work (fp32 on CPU, iterations = evaluations, equal scale shares)
PREVIOUS_ENGINE = "eeb1bc7"

_DRIVER = """
import json, sys, time
import numpy as np
from PIL import Image
from impasto_daemon.engine import StyleEngine, StyleSettings
content, style, size, weights, model, extra = sys.argv[1:7]
engine = StyleEngine(device="cpu", weights=weights, models=(model,))
c = np.asarray(Image.open(content).convert("RGB"))
s = np.asarray(Image.open(style).convert("RGB"))
settings = StyleSettings(model=model, size=int(size), **json.loads(extra))
start = time.perf_counter()
out, stats = engine.stylize(c, [s], settings)
seconds = time.perf_counter() - start
Image.fromarray(out[:, :, :3]).save(sys.argv[7])
print(json.dumps({"seconds": seconds, "iterations": stats.iterations,
                  "sizes": stats.sizes, "final_loss": stats.final_loss}))
"""


def export(rev: str, into: Path) -> Path:
    """The daemon and wire packages as they were at ``rev``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "daemon", "shared"],
                             check=True, capture_output=True).stdout
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(into, filter="data")
    return into


def run_previous(rev: str, content: Path, style: Path, size: int, weights: str, model: str,
                 out: Path, extra: dict | None = None) -> dict:
    """Time one default stylisation by the engine at ``rev``; returns its JSON figures."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = export(rev, Path(tmp))
        env = dict(os.environ,
                   PYTHONPATH=os.pathsep.join([str(tree / "daemon"), str(tree / "shared")]))
        proc = subprocess.run(
            [sys.executable, "-c", _DRIVER, str(content), str(style), str(size), weights,
             model, json.dumps(extra or {}), str(out)],
            env=env, capture_output=True, text=True, check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"the engine at {rev} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default=PREVIOUS_ENGINE)
    parser.add_argument("--content", type=Path, required=True)
    parser.add_argument("--style", type=Path, required=True)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--model", default="vgg19")
    parser.add_argument("--out", type=Path, default=Path("previous.png"))
    args = parser.parse_args()
    print(json.dumps(run_previous(args.rev, args.content, args.style, args.size, args.weights,
                                  args.model, args.out)))


if __name__ == "__main__":
    main()
