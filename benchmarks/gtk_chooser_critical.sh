#!/usr/bin/env bash
# Is the "Gtk-CRITICAL ... WIDGET_REALIZED_FOR_EVENT" seen when a path is typed into the style
# file chooser the plug-in's doing? This opens GTK 3's own Gtk.FileChooserDialog in a bare
# Python program (nothing of GIMP or Impasto) inside the same Debian 13 root the GIMP tests use,
# types a path into its location field (Ctrl+L) as tests/gimp/test_plugin_dialog.py does, and
# counts the runs that print the CRITICAL, with no window manager and (when installed) under
# openbox. Results and the conclusion: docs/MEASUREMENTS.md.
#
#   bash benchmarks/gtk_chooser_critical.sh [RUNS]      # needs root, Xvfb, xdotool
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
eval "$(bash tests/gimp/get_gimp.sh | tail -1)"
if [ "${IMPASTO_GIMP_MODE:-}" != chroot ]; then
  echo "this check runs in the chroot GIMP root only (got mode ${IMPASTO_GIMP_MODE:-none})" >&2
  exit 2
fi
ROOT="$IMPASTO_GIMP_ROOT"
WORK="$(mktemp -d "$ROOT/tmp/chooser.XXXXXX")"
INSIDE="/tmp/$(basename "$WORK")"
trap 'rm -rf "$WORK"' EXIT
cp tests/data/chelsea.png "$WORK/"
cat > "$WORK/chooser.py" <<'EOF'
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk

def done(dialog, response):
    print("response", response, dialog.get_filename(), flush=True)
    Gtk.main_quit()

dialog = Gtk.FileChooserDialog(title="Bare chooser", action=Gtk.FileChooserAction.OPEN)
dialog.add_buttons("_Cancel", Gtk.ResponseType.CANCEL, "_Open", Gtk.ResponseType.OK)
dialog.connect("response", done)
dialog.show_all()
GLib.timeout_add_seconds(40, Gtk.main_quit)
Gtk.main()
EOF

one_run() {  # $1: window manager command or empty; prints "CRITICALS OPENED"
  local display=:77 xvfb wm="" app window=""
  Xvfb "$display" -screen 0 1280x1024x24 >/dev/null 2>&1 & xvfb=$!
  sleep 1.5
  if [ -n "$1" ]; then DISPLAY=$display $1 >/dev/null 2>&1 & wm=$!; sleep 1; fi
  unshare --mount --propagation private sh -c "
    for d in dev proc sys; do mount --rbind /\$d '$ROOT'/\$d; done
    exec chroot '$ROOT' env -i GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 DISPLAY=$display \
      HOME=$INSIDE PATH=/usr/bin:/bin python3 $INSIDE/chooser.py" >"$WORK/out" 2>"$WORK/err" &
  app=$!
  for _ in $(seq 40); do
    window=$(DISPLAY=$display xdotool search --name "Bare chooser" 2>/dev/null | head -1)
    [ -n "$window" ] && break
    sleep 0.3
  done
  sleep 1
  DISPLAY=$display xdotool windowfocus --sync "$window" key ctrl+l
  sleep 0.5
  DISPLAY=$display xdotool type --delay 30 "$INSIDE/chelsea.png"
  sleep 1
  DISPLAY=$display xdotool windowfocus --sync "$window" key Return
  sleep 2
  if DISPLAY=$display xdotool search --name "Bare chooser" >/dev/null 2>&1; then
    DISPLAY=$display xdotool windowfocus --sync "$window" key alt+o
  fi
  wait "$app"
  [ -n "$wm" ] && kill "$wm"
  kill "$xvfb"; wait "$xvfb" 2>/dev/null
  echo "$(grep -c 'WIDGET_REALIZED_FOR_EVENT' "$WORK/err") $(grep -c '^response -5' "$WORK/out")"
}

gtk=$(awk '/^Package: libgtk-3-0(t64)?$/{f=1} f&&/^Version:/{print $2; exit}' "$ROOT/var/lib/dpkg/status")
echo "GTK $gtk, bare Gtk.FileChooserDialog, path typed into the location field, $RUNS runs each"
for wm in "" openbox; do
  if [ -n "$wm" ] && ! command -v "$wm" >/dev/null; then
    echo "  $wm: not installed (apt-get install openbox), skipped"; continue
  fi
  with_critical=0 opened=0
  for _ in $(seq "$RUNS"); do
    read -r criticals ok < <(one_run "$wm")
    [ "$criticals" -gt 0 ] && with_critical=$((with_critical + 1))
    opened=$((opened + ok))
  done
  echo "  ${wm:-no window manager}: CRITICAL in $with_critical of $RUNS runs; the file opened in $opened"
done
