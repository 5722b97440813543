"""What the artist reads when something goes wrong: what happened, then what to do next.

The daemon's error codes are stable (``impasto_wire.protocol``); its messages are for
developers, so each code gets its own sentence here and the daemon's text is added only where it
helps (it names limits and models). Every sentence goes through ``_`` (see i18n.py).
"""

from __future__ import annotations

from .i18n import _

DAEMON_HELP = _("start it yourself in a terminal with `impasto-daemon` (it prints why it "
                "cannot run), then use the filter again")


class Failure(Exception):
    """The run failed; ``str()`` is the whole message for the artist."""


class Cancelled(Exception):
    """The run ended without a result and without an error (cancelled, or the image closed)."""


def daemon_error(code: str, detail: str, style_names: list[str]) -> str:
    """A sentence for a daemon ``error`` reply (``code`` from the wire protocol)."""
    styles = " / ".join(f"'{s}'" for s in style_names) or _("the style image")
    if code == "oom":
        return _("The daemon ran out of memory for this size. Lower 'Size' (e.g. 512), select "
                 "fewer layers at once, or close other programs using the graphics card; then "
                 "try again.")
    if code in ("bad_image", "unsupported_format"):
        return _("The style image {styles} could not be read as an image. Choose a PNG, JPEG, "
                 "WebP, TIFF or BMP file, or open the picture in GIMP and use it as the style "
                 "layer.").format(styles=styles)
    if code == "too_large":
        return _("This is more than the daemon accepts ({detail}). Lower 'Size' or select "
                 "fewer layers.").format(detail=detail)
    if code == "busy":
        return _("The daemon is busy with other jobs. Try again in a moment.")
    if code == "diverged":
        return _("The painting went wrong numerically (it diverged). Lower 'Strength' or "
                 "change 'Seed', then try again.")
    if code == "shutting_down":
        return _("The daemon is shutting down. Use the filter again in a few seconds.")
    if code == "bad_version":
        return _("The plug-in and the daemon are different versions ({detail}). Update Impasto "
                 "(run install.sh again) and restart the daemon.").format(detail=detail)
    if code == "bad_request":
        return _("The daemon refused the settings: {detail}").format(detail=detail)
    if code == "cancelled":
        return _("The job was cancelled on the daemon (by `impasto cancel` or another client).")
    return _("The daemon failed ({code}: {detail}). Its log says more; try again.").format(
        code=code, detail=detail)


def weights_hint(detail: str) -> str:
    """Extra advice when a failed start looks like missing network weights."""
    low = detail.lower()
    if "weights" in low or "status 4" in low:
        return " " + _("The network weights seem to be missing: run Impasto's install.sh (it "
                       "downloads them) or start the daemon with "
                       "`impasto-daemon --weights FILE`.")
    return ""


def cannot_start(detail: str) -> str:
    return _("No Impasto daemon is running and starting one failed: {detail}.{hint} To fix "
             "it, {help}.").format(detail=detail, hint=weights_hint(detail), help=DAEMON_HELP)


def daemon_died(detail: str) -> str:
    return _("The Impasto daemon stopped answering while it worked (it crashed, ran out of "
             "memory or was closed), so nothing was changed. Use the filter again: a new "
             "daemon is started if needed. If it keeps happening, {help}. ({detail})").format(
        help=DAEMON_HELP, detail=detail)


def connection_lost(detail: str) -> str:
    return _("The connection to the Impasto daemon was lost while it worked (the network or a "
             "tunnel to it went quiet; the daemon may still be running), so nothing was "
             "changed. Check the connection, then use the filter again. ({detail})").format(
        detail=detail)


def daemon_gone(detail: str, lost_link: bool) -> str:
    """Why a job ended without an answer: a lost network link is not a crashed daemon."""
    return connection_lost(detail) if lost_link else daemon_died(detail)


def model_missing(model: str, loaded: list[str]) -> str:
    have = ", ".join(m.upper() for m in loaded) or _("no network")
    both = ",".join(sorted(set(loaded) | {model}, reverse=True))
    return _("The running daemon has {loaded} loaded, not {model}. Choose {choices} as "
             "'Network', or restart the daemon with `impasto-daemon --model {both}`.").format(
        loaded=have, model=model.upper(), both=both,
        choices=_(" or ").join(m.upper() for m in loaded))
