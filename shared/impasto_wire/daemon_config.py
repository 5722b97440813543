"""The one daemon configuration: ``$XDG_CONFIG_HOME/impasto/daemon.toml``.

install.sh writes it, a person may edit it, ``impasto-daemon`` reads it (its flags override it),
and every launcher (``impasto stylize``'s auto-start, the GIMP plug-in, the systemd unit, the
hints of install.sh / ``impasto status`` / ``impasto doctor``) starts the daemon from it through
``launcher.daemon_command``. docs/CONFIG.md documents the keys.

The format is the small subset of TOML that ``render`` writes (tables, strings, integers,
booleans, one-line lists of strings, comments). It is read with ``tomllib`` where Python has it
(3.11+) and by ``_parse_subset`` otherwise (GIMP's or the venv's Python 3.9/3.10), so the file
means the same to every reader; anything outside the subset is a ConfigError naming the line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import safe_files
from .endpoints import EndpointError, check_endpoint
from .limits import check_setting
from .style_settings import MODELS

ENV_CONFIG = "IMPASTO_CONFIG"
MAX_FILE_BYTES = 256 * 1024  # far above any real configuration; bounds what a mistake reads
FILE_NAME = "daemon.toml"
DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?(,cuda:\d+)*)$")


class ConfigError(Exception):
    """The configuration file is unreadable or says something impossible; the text says where."""


@dataclass
class ConfigFile:
    """What the file says; an absent key takes the default the daemon would use anyway."""

    program: str = ""  # the impasto-daemon executable; "" = found on PATH / beside Python
    models: list[str] = field(default_factory=lambda: ["vgg19"])  # the first is the default
    weights: dict[str, str] = field(default_factory=dict)  # model -> source; absent: torchvision
    device: str = "auto"
    endpoint: str = ""  # "" = the default local endpoint
    memory_budget_mb: int = 0  # 0 = decided from free memory
    path: Path | None = None  # where it was read from (not written)

    @property
    def default_model(self) -> str:
        return self.models[0]

    def weights_for(self, model: str) -> str:
        """The weights source the daemon loads for ``model`` ("torchvision" unless configured)."""
        return self.weights.get(model, "torchvision")


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def default_path() -> Path:
    """``$IMPASTO_CONFIG`` if set, else ``$XDG_CONFIG_HOME/impasto/daemon.toml``."""
    explicit = os.environ.get(ENV_CONFIG, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return config_home() / "impasto" / FILE_NAME


def load(path: Path | None = None) -> ConfigFile | None:
    """The configuration at ``path`` (default: ``default_path()``), None when there is none."""
    path = Path(path) if path is not None else default_path()
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB, so not an Impasto "
                          "configuration (docs/CONFIG.md)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        what = "UTF-16 text" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "binary data"
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}; "
                          f"{what}?); save it as UTF-8 (docs/CONFIG.md)") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: holds NUL bytes, so it is not a text file; save it as "
                          "UTF-8 text (docs/CONFIG.md)")
    return parse(text, path)


def save(cfg: ConfigFile, path: Path) -> Path:
    """Write ``render(cfg)`` to ``path`` through the one safe writer (keeps an own file's mode)."""
    return safe_files.write_file(path, render(cfg).encode("utf-8"))


def parse(text: str, path: Path | None = None) -> ConfigFile:
    """Check and convert the file's tables into a ConfigFile (errors name the file)."""
    where = str(path) if path is not None else "the configuration"
    try:
        import tomllib  # type: ignore[import-not-found]

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    except ImportError:
        data = _parse_subset(text, where)
    return _from_tables(data, where, path)


def _from_tables(data: dict[str, Any], where: str, path: Path | None) -> ConfigFile:
    unknown = sorted(set(data) - {"daemon", "weights"})
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {', '.join(unknown)} (known: daemon, "
                          "weights; see docs/CONFIG.md)")
    daemon = data.get("daemon", {})
    weights = data.get("weights", {})
    if not isinstance(daemon, dict) or not isinstance(weights, dict):
        raise ConfigError(f"{where}: [daemon] and [weights] must be tables")
    cfg = ConfigFile(path=path)
    keys = {"program": str, "models": list, "device": str, "endpoint": str,
            "memory_budget_mb": int}
    for key, value in daemon.items():
        if key not in keys:
            raise ConfigError(f"{where}: unknown key daemon.{key} (known: {', '.join(keys)})")
        if not isinstance(value, keys[key]) or isinstance(value, bool):
            raise ConfigError(f"{where}: daemon.{key} must be a {keys[key].__name__}")
        setattr(cfg, key, value)
    cfg.models = [str(m).strip() for m in cfg.models]
    bad = [m for m in cfg.models if m not in MODELS] + [m for m in weights if m not in MODELS]
    if bad or not cfg.models:
        raise ConfigError(f"{where}: models are vgg19 and/or vgg16 (got {bad or 'none'})")
    if len(set(cfg.models)) != len(cfg.models):
        raise ConfigError(f"{where}: daemon.models lists a model twice")
    for model, source in weights.items():
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f"{where}: weights.{model} must be \"torchvision\", \"random\" or "
                              "a file path")
        cfg.weights[model] = source.strip()
    if not DEVICE_RE.match(cfg.device):
        raise ConfigError(f"{where}: daemon.device is auto, cpu, cuda, cuda:N or a list such as "
                          f"cuda:0,cuda:1 (got {cfg.device!r})")
    if cfg.endpoint:
        try:
            check_endpoint(cfg.endpoint)
        except EndpointError as exc:
            raise ConfigError(f"{where}: daemon.endpoint is ipc://PATH or tcp://HOST:PORT "
                              f"({exc})") from None
    try:
        check_setting("memory_budget_mb", cfg.memory_budget_mb)
    except ValueError as exc:
        raise ConfigError(f"{where}: daemon.{exc} (0 = automatic)") from None
    return cfg


_KEY = r"[A-Za-z0-9_-]+"
_STRING = r'"(?:[^"\\]|\\["\\])*"'
_LINE = re.compile(rf"^\s*({_KEY})\s*=\s*(.*?)\s*$")


def _parse_subset(text: str, where: str) -> dict[str, Any]:
    """The TOML subset ``render`` writes, for Pythons without tomllib."""
    data: dict[str, Any] = {}
    table: dict[str, Any] = data
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).strip()
        if not line:
            continue
        header = re.match(rf"^\[\s*({_KEY})\s*\]$", line)
        if header:
            table = data.setdefault(header.group(1), {})
            continue
        m = _LINE.match(line)
        if not m:
            raise ConfigError(f"{where}, line {number}: not a 'key = value' line: {raw.strip()}")
        try:
            table[m.group(1)] = _value(m.group(2))
        except ValueError:
            raise ConfigError(f"{where}, line {number}: cannot read the value "
                              f"{m.group(2)!r} (strings in double quotes)") from None
    return data


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment that is not inside a double-quoted string."""
    quoted = False
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i]
    return line


def _value(text: str) -> Any:
    if re.fullmatch(_STRING, text):
        return re.sub(r'\\(["\\])', r"\1", text[1:-1])
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(rf"\[\s*(?:{_STRING}\s*(?:,\s*{_STRING}\s*)*,?\s*)?\]", text):
        return [_value(item) for item in re.findall(_STRING, text)]
    raise ValueError(text)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(cfg: ConfigFile) -> str:
    """The file install.sh writes: every key present, each with a comment saying what it does."""
    models = ", ".join(_quote(m) for m in cfg.models)
    lines = [
        "# Impasto daemon configuration, written by install.sh; edit it freely (docs/CONFIG.md).",
        "# impasto-daemon reads it; its command-line flags override it. Every launcher (the",
        "# `impasto` command, the GIMP plug-in, the systemd unit) starts the daemon from it.",
        "",
        "[daemon]",
        f"program = {_quote(cfg.program)}  # the impasto-daemon executable",
        f"models = [{models}]  # networks kept loaded; the first is the default",
        f"device = {_quote(cfg.device)}  # auto, cpu, cuda, cuda:N or cuda:0,cuda:1",
        f"endpoint = {_quote(cfg.endpoint)}  # empty: the local socket in $XDG_RUNTIME_DIR/impasto",
        f"memory_budget_mb = {int(cfg.memory_budget_mb)}  # per job and device; 0: automatic",
        "",
        "# Per model: \"torchvision\" (torch's cache, hash checked), \"random\" (a demo, not a",
        "# real model) or a .pth file, \"PATH#sha256=HEX\" to enforce its hash.",
        "[weights]",
    ]
    for model in cfg.models + sorted(set(cfg.weights) - set(cfg.models)):
        lines.append(f"{model} = {_quote(cfg.weights_for(model))}")
    return "\n".join(lines) + "\n"


