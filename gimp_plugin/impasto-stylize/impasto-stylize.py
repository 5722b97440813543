#!/usr/bin/env python3
"""Impasto for GIMP 3: Filters ▸ Artistic ▸ Neural Style Transfer…

Repaints the selected layers in the style of a picture, each as a new layer right above its
source. The work is done by the Impasto daemon (PyTorch, kept warm between runs); this plug-in
only moves pixels, shows progress and adds the layers. It imports nothing beyond ``gi``,
``impasto_wire`` (installed beside it), ``zmq`` and ``msgpack``; missing ones are reported when
the filter runs, so the menu entry exists even in a Python without them.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib  # noqa: E402

from impasto_gimp import arguments, deps  # noqa: E402
from impasto_gimp.debug import trace  # noqa: E402
from impasto_gimp.i18n import CATALOG_DIR, DOMAIN, _  # noqa: E402
from impasto_gimp.messages import Cancelled, Failure  # noqa: E402

deps.extend_path()

PROCEDURE = "plug-in-impasto-stylize"


def run(procedure: Gimp.ImageProcedure, run_mode: Gimp.RunMode, image: Gimp.Image,
        drawables: list, config: Gimp.ProcedureConfig, data: object) -> Gimp.ValueArray:
    missing = deps.missing_modules()
    if missing:
        return _failed(procedure, deps.missing_message(missing))
    from impasto_gimp import job, layers

    try:
        new_layers = job.paint(procedure, run_mode, image, drawables, config)
    except Cancelled as why:
        trace(f"cancelled: {why}")
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    except Failure as failure:
        return _failed(procedure, str(failure))
    finally:
        Gimp.progress_end()
    result = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
    result.remove(1)  # the slot for the declared return value is there already
    result.insert(1, layers.as_return_value(new_layers))
    return result


def _failed(procedure: Gimp.Procedure, message: str) -> Gimp.ValueArray:
    """EXECUTION_ERROR with the artist's message (GIMP shows it in interactive use)."""
    trace(f"failed: {message}")
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


class ImpastoStylize(Gimp.PlugIn):
    """The plug-in: one procedure, plug-in-impasto-stylize."""

    def do_set_i18n(self, name: str) -> tuple[bool, str, str]:
        """Our own text domain and catalogues (locale/ beside this script), as i18n.py binds
        them for the Python side."""
        return True, DOMAIN, CATALOG_DIR

    def do_query_procedures(self) -> list[str]:
        return [PROCEDURE]

    def do_create_procedure(self, name: str) -> Gimp.Procedure:
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE
                                       | Gimp.ProcedureSensitivityMask.DRAWABLES)
        procedure.set_menu_label(_("_Neural Style Transfer…"))
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            _("Repaint layers in the style of a picture (neural style transfer)"),
            _("Each selected layer is repainted in the style of a picture (a file, or a layer "
              "of any open image) by the Impasto daemon, and comes back as a new layer right "
              "above it, masked by the selection if there is one. The source layers are not "
              "changed; one undo step removes the result. The daemon is started if it is not "
              "running."),
            name)
        procedure.set_attribution("Impasto", "Impasto", "2026")
        arguments.declare(procedure)
        return procedure


Gimp.main(ImpastoStylize.__gtype__, sys.argv)
