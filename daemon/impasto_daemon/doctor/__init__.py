"""``impasto doctor``: what works and what does not, each failure with its fix.

Each check is a small function returning a ``Check`` (status ok/warn/fail, what it saw, the
fix). ``run_checks`` runs them in the order a person would debug: the daemon configuration,
daemon, device, weights (those the configuration names, loaded as the daemon would), GIMP.
A check that fails unexpectedly (a bug, a machine unlike any foreseen) becomes one FAIL line
that names it, and the others still run: a doctor must not crash.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..settings import MODELS
from . import gimp
from .install_state import UNIT_NAME, Manifest, config_home, read_manifest
from .result import FAIL, OK, WARN, Check

__all__ = ["FAIL", "OK", "WARN", "Check", "DoctorOptions", "run_checks"]


@dataclass
class DoctorOptions:
    """What ``impasto doctor``'s options ask for (defaults: look everywhere, as a user would)."""

    endpoint: str | None = None
    timeout: float = 2.0
    manifest: Path | None = None
    profiles: list[Path] = field(default_factory=list)  # empty: every profile found
    gimp_python: str | None = None  # shell-style command line
    gimp_root: Path | None = None
    weights: str | None = None  # default: what the daemon configuration names, else torchvision
    config: Path | None = None  # default: $XDG_CONFIG_HOME/impasto/daemon.toml
    skip: Sequence[str] = ()  # "daemon", "device", "weights", "gimp"


def run_checks(opts: DoctorOptions) -> list[Check]:
    """Every check not skipped; torch is imported only by the device and weights checks."""
    from .config_check import check_config, load_config
    from .daemon_check import check_daemon

    checks: list[Check] = []
    try:
        manifest = read_manifest(opts.manifest)
    except Exception as exc:  # noqa: BLE001 - see guarded()
        checks.append(crashed("install manifest", exc))
        manifest = Manifest(opts.manifest or Path("install-manifest.txt"))
    config_path = opts.config or _config_path(manifest)
    checks += guarded("configuration", check_config, config_path)
    try:
        cfg = load_config(config_path)
    except Exception:  # noqa: BLE001 - the configuration line above has said what is wrong
        cfg = None
    if "daemon" not in opts.skip:
        def daemon() -> Check:
            unit = (config_home() / "systemd" / "user" / UNIT_NAME).is_file()
            return check_daemon(opts.endpoint or _configured_endpoint(config_path),
                                opts.timeout, unit_installed=unit,
                                configured_models=cfg.models if cfg else None)

        checks += guarded("daemon", daemon)
    if "device" not in opts.skip:
        from .device_check import check_device

        checks += guarded("device", check_device)
    if "weights" not in opts.skip:
        checks += guarded("weights", _weights_checks, opts, cfg)
    if "gimp" not in opts.skip:
        checks += guarded("gimp", _gimp_checks, opts, manifest)
    return checks


def crashed(name: str, exc: Exception) -> Check:
    """The line for a check that raised: its name, the error, and that it is a bug."""
    return Check(name, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}",
                 "this is a bug in impasto doctor (the other checks ran): please report this line")


def guarded(name: str, check: Callable[..., Check | list[Check]], *args: object) -> list[Check]:
    """``check(*args)`` as a list of checks; an unexpected exception becomes one FAIL line
    named ``name`` instead of a traceback."""
    try:
        out = check(*args)
    except Exception as exc:  # noqa: BLE001 - a bug in one check must not hide the others
        return [crashed(name, exc)]
    return out if isinstance(out, list) else [out]


def _configured_endpoint(config_path: Path) -> str | None:
    """Where the configured daemon listens (None: let the check find it, and say why not)."""
    from impasto_wire.endpoints import EndpointError
    from impasto_wire.launcher import configured_endpoint

    try:
        return configured_endpoint(config_path)
    except (EndpointError, OSError):
        return None


def _config_path(manifest: Manifest) -> Path:
    from impasto_wire import daemon_config

    recorded = manifest.settings.get("config")
    return Path(recorded) if recorded else daemon_config.default_path()


def _weights_checks(opts: DoctorOptions, cfg) -> list[Check]:
    """Each configured model's weights, loaded as the daemon will load them (required); without
    a configuration, torchvision's VGG19 (required) and VGG16 (optional), as the daemon's
    defaults would."""
    from .weights_check import check_weights

    if cfg is None:
        source = opts.weights or "torchvision"
        models = MODELS if source == "torchvision" else ("vgg19",)
        return [c for m in models
                for c in guarded(f"weights {m}", check_weights, m, source, m == "vgg19")]
    return [c for m in cfg.models
            for c in guarded(f"weights {m}", check_weights, m, opts.weights or cfg.weights_for(m))]


def _gimp_checks(opts: DoctorOptions, manifest: Manifest) -> list[Check]:
    python = tuple(shlex.split(opts.gimp_python)) if opts.gimp_python else None
    root = opts.gimp_root or Path("/")
    if opts.profiles:
        profiles = [gimp.Profile(p, gimp.kind_of(p), python or gimp.python_for(p), root)
                    for p in opts.profiles]
        checks: list[Check] = []
        for p in profiles:
            if not p.path.is_dir():
                checks.append(Check(f"plug-in in {p.path}", FAIL, "no such GIMP profile folder",
                                    "check the path (GIMP 3: ~/.config/GIMP/3.0)"))
                continue
            checks += guarded(f"plug-in in {p.path}", gimp.check_plugin, p)
            checks += guarded(f"gimp python for {p.path}", gimp.check_gimp_python, p)
        return checks
    profiles = gimp.find_profiles(manifest)
    if python or opts.gimp_root:
        profiles = [gimp.Profile(p.path, p.kind, python or p.python, opts.gimp_root or p.root)
                    for p in profiles]
    checks = guarded("gimp profiles", lambda: gimp.check_profiles_found(
        profiles, gimp.gimp3_installations()))
    for p in profiles:
        plugin = guarded(f"plug-in in {p.path}", gimp.check_plugin, p)
        checks += plugin
        if plugin[0].ok:
            checks += guarded(f"gimp python for {p.path}", gimp.check_gimp_python, p)
    return checks
