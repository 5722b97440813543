#!/usr/bin/env bash
# Ensure a real, headless GIMP 3 is available for the GIMP tests.
#
#   tests/gimp/get_gimp.sh            # idempotent; prints a summary, last line is machine-readable
#
# Debian 13 (trixie) host:  apt-get install gimp + python3-gi/zmq/msgpack on the host ("host" mode).
# Any other host (e.g. Debian 12, which only has GIMP 2.10): a debootstrap'd trixie root at
#   ${IMPASTO_GIMP_ROOT:-$HOME/.cache/impasto/gimp-root}       ("chroot" mode)
# cached as a zstd tarball next to it (gimp-root.tar.zst) that is restored when the root is missing.
# A marker file inside the root (.impasto-gimp-root) records the spec it was built from; a root whose
# spec differs from SPEC below is rebuilt (so changing PACKAGES invalidates old roots and tarballs).
#
# Environment:
#   IMPASTO_GIMP_ROOT      where the trixie root lives (default ~/.cache/impasto/gimp-root)
#   IMPASTO_GIMP_MODE      auto (default) | host | chroot   (force a mode)
#   IMPASTO_DEBIAN_MIRROR  override the mirror (default: the Debian URI in /etc/apt/sources.list.d)
#   IMPASTO_GIMP_NO_TARBALL=1  do not write the cache tarball
#
# Last line of stdout:  IMPASTO_GIMP_MODE=chroot IMPASTO_GIMP_ROOT=/abs/path   (or =host ... =/)
set -euo pipefail

SUITE=trixie
PACKAGES="gimp python3-gi python3-zmq python3-msgpack"
# Bump the "v" number when the way the root is built changes (forces a rebuild everywhere).
SPEC="impasto-gimp-root v1 suite=$SUITE packages=$PACKAGES"

ROOT="${IMPASTO_GIMP_ROOT:-$HOME/.cache/impasto/gimp-root}"
MODE="${IMPASTO_GIMP_MODE:-auto}"

log() { printf '[get_gimp] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --------------------------------------------------------------------------------------------
# Host mode: a Debian 13 host has GIMP 3 in its own archive.
# --------------------------------------------------------------------------------------------
host_codename() { (. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}") 2>/dev/null || true; }

if [[ "$MODE" == auto ]]; then
    if [[ "$(host_codename)" == "$SUITE" ]]; then MODE=host; else MODE=chroot; fi
fi

if [[ "$MODE" == host ]]; then
    missing=()
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        [[ $EUID -eq 0 ]] || die "host mode needs root to install: ${missing[*]}"
        log "installing on the host: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
    command -v gimp-console-3.0 >/dev/null || die "gimp-console-3.0 not found after install"
    log "host GIMP: $(dpkg-query -W -f='${Version}' gimp)"
    echo "IMPASTO_GIMP_MODE=host IMPASTO_GIMP_ROOT=/"
    exit 0
fi
[[ "$MODE" == chroot ]] || die "IMPASTO_GIMP_MODE must be auto, host or chroot (got '$MODE')"

# --------------------------------------------------------------------------------------------
# Chroot mode.
# --------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$ROOT")"
ROOT="$(cd "$(dirname "$ROOT")" && pwd)/$(basename "$ROOT")"   # absolute, for chroot and mounts
TARBALL="$(dirname "$ROOT")/gimp-root.tar.zst"
MARKER=".impasto-gimp-root"

# Several pytest workers may call us at once: serialise on a lock next to the root.
exec 9>"$ROOT.lock"
flock 9

root_ok() {   # $1 = a root directory; true when it is complete and built from the current SPEC
    [[ -x "$1/usr/bin/gimp-console-3.0" && -f "$1/$MARKER" ]] && [[ "$(head -n1 "$1/$MARKER")" == "$SPEC" ]]
}

report() {
    log "root ready: $ROOT ($(sed -n 's/^gimp=//p' "$ROOT/$MARKER"))"
    echo "IMPASTO_GIMP_MODE=chroot IMPASTO_GIMP_ROOT=$ROOT"
}

if root_ok "$ROOT"; then report; exit 0; fi

if [[ $EUID -ne 0 ]]; then
    # Without root we can still unpack a cached tarball (minus the device nodes, which the harness
    # bind-mounts anyway); building needs root (debootstrap, apt inside the root).
    [[ -f "$TARBALL" ]] || die "building the GIMP root needs root (run this script once as root)"
    command -v zstd >/dev/null || die "zstd is needed to unpack $TARBALL"
    log "restoring $TARBALL (as a normal user)"
    rm -rf --one-file-system "$ROOT" "$ROOT.restore.$$"
    mkdir -p "$ROOT.restore.$$"
    tar --zstd -xf "$TARBALL" -C "$ROOT.restore.$$" --exclude='./dev/*'
    root_ok "$ROOT.restore.$$" || die "$TARBALL does not hold a current GIMP root"
    mv "$ROOT.restore.$$" "$ROOT"
    report; exit 0
fi

# Tools we need on the host.
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v zstd >/dev/null || need+=(zstd)
if ((${#need[@]})); then
    log "installing on the host: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# A stale or half-built root goes away.
if [[ -e "$ROOT" ]]; then
    log "removing stale root $ROOT"
    rm -rf --one-file-system "$ROOT"
fi

# 1) Try the cached tarball.
if [[ -f "$TARBALL" ]]; then
    log "restoring $TARBALL"
    t0=$SECONDS
    tmp="$ROOT.restore.$$"
    rm -rf --one-file-system "$tmp"; mkdir -p "$tmp"
    if tar --zstd -xpf "$TARBALL" -C "$tmp" --numeric-owner && root_ok "$tmp"; then
        mv "$tmp" "$ROOT"
        log "restored in $((SECONDS - t0)) s"
        report; exit 0
    fi
    log "tarball is stale or broken; rebuilding"
    rm -rf --one-file-system "$tmp" "$TARBALL"
fi

# 2) Build from scratch.
# The Debian mirror this machine already uses: first URI of a deb822 stanza or one-line entry
# whose path ends in /debian (so not debian-security, not third-party archives).
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        # deb [options] URI suite components
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
    done
}
MIRROR="${IMPASTO_DEBIAN_MIRROR:-$(find_mirror | grep -E '/debian/?$' | head -n1 || true)}"
[[ -n "$MIRROR" ]] || die "no Debian mirror found in /etc/apt/sources.list.d; set IMPASTO_DEBIAN_MIRROR"
log "building a $SUITE root from $MIRROR (debootstrap + apt, a few minutes)"

# The host's apt proxy / date-check settings apply to the root too (the mirror may be a snapshot).
HOST_APT_CONF="$(apt-config dump 2>/dev/null \
    | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' || true)"
proxy="$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -n1)"
if [[ -n "$proxy" && -z "${http_proxy:-}" ]]; then export http_proxy="$proxy"; fi

BUILD="$ROOT.build.$$"
MOUNTED=()
unmount_all() {
    local m i
    # Unmount in reverse order; a busy mount is detached lazily rather than left behind.
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        m="${MOUNTED[i]}"
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "WARNING: could not unmount $m"
    done
    MOUNTED=()
}
cleanup() {
    unmount_all
    if [[ -d "$BUILD" ]]; then rm -rf --one-file-system "$BUILD"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
rm -rf --one-file-system "$BUILD"
debootstrap --variant=minbase "$SUITE" "$BUILD" "$MIRROR" >&2 \
    || { cat "$BUILD/debootstrap/debootstrap.log" >&2 2>/dev/null || true; die "debootstrap failed"; }
t_debootstrap=$((SECONDS - t0))

# Keep docs, man pages and translations out of the root (smaller root and tarball).
cat >"$BUILD/etc/dpkg/dpkg.cfg.d/01-impasto-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
{
    echo 'APT::Install-Recommends "false";'
    echo 'APT::Install-Suggests "false";'
    [[ -n "$HOST_APT_CONF" ]] && printf '%s\n' "$HOST_APT_CONF"
} >"$BUILD/etc/apt/apt.conf.d/99impasto"

# apt inside the root wants /proc, /sys, /dev and /dev/pts (GIMP itself does not).
mount -t proc proc "$BUILD/proc";      MOUNTED+=("$BUILD/proc")
mount -t sysfs sysfs "$BUILD/sys";     MOUNTED+=("$BUILD/sys")
mount --bind /dev "$BUILD/dev";        MOUNTED+=("$BUILD/dev")
mount --bind /dev/pts "$BUILD/dev/pts"; MOUNTED+=("$BUILD/dev/pts")

in_root() { chroot "$BUILD" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive ${http_proxy:+http_proxy=$http_proxy} "$@"; }
in_root apt-get update -qq >&2
# shellcheck disable=SC2086  # PACKAGES is a word list on purpose
in_root apt-get install -y -qq --no-install-recommends $PACKAGES >&2
in_root apt-get clean
in_root /usr/bin/gimp-console-3.0 --version >&2

# Unmount before anything reads the tree as a whole (tar, mv).
unmount_all
rm -rf "$BUILD"/var/lib/apt/lists/* "$BUILD"/var/cache/apt/*.bin "$BUILD"/tmp/* "$BUILD"/var/log/*.log

{
    echo "$SPEC"
    echo "gimp=$(chroot "$BUILD" dpkg-query -W -f='${Version}' gimp)"
    echo "python3=$(chroot "$BUILD" dpkg-query -W -f='${Version}' python3)"
    echo "mirror=$MIRROR"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$BUILD/$MARKER"
mv "$BUILD" "$ROOT"
log "built in $((SECONDS - t0)) s (debootstrap ${t_debootstrap} s), $(du -sh --one-file-system "$ROOT" | cut -f1)"

# 3) Cache it (write to a temp name, then rename: a killed run never leaves a truncated tarball).
if [[ "${IMPASTO_GIMP_NO_TARBALL:-0}" != 1 ]]; then
    t1=$SECONDS
    tar --use-compress-program='zstd -T0 -q' -cpf "$TARBALL.tmp.$$" -C "$ROOT" --numeric-owner --one-file-system . \
        && mv "$TARBALL.tmp.$$" "$TARBALL" \
        || { rm -f "$TARBALL.tmp.$$"; log "WARNING: could not write $TARBALL"; }
    [[ -f "$TARBALL" ]] && log "cached $TARBALL ($(du -h "$TARBALL" | cut -f1), $((SECONDS - t1)) s)"
fi
report
