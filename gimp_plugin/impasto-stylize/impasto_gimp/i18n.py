"""Translation: every string an artist reads goes through ``_`` (or ``N_`` where it is defined
before use), so a translation is a catalogue dropped into ``locale/``, never a code change.

GIMP's convention for plug-ins outside its own tree: the text domain is the plug-in's name and
the compiled catalogues live in ``locale/<language>/LC_MESSAGES/<domain>.mo`` beside the script
(``do_set_i18n`` hands the same two to libgimp for its C side). The language is the one GIMP
runs in (it passes ``LANGUAGE``/``LANG`` on to plug-ins). Standard library only: the modules
that use it are imported outside GIMP too.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "impasto-stylize"
#: relative to the plug-in folder, as ``do_set_i18n`` must give it
CATALOG_DIR = "locale"
LOCALE_DIR = Path(__file__).resolve().parents[1] / CATALOG_DIR

gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))


def _(message: str) -> str:
    """``message`` in the artist's language (itself where no catalogue has it)."""
    return gettext.dgettext(DOMAIN, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it yet (constants defined at
    import, translated with ``_`` where they are shown)."""
    return message
