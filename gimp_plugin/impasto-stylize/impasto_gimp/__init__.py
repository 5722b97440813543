"""Helpers of the Impasto GIMP plug-in, one job per module.

Modules without ``gi`` (``options``, ``progress``, ``messages``, ``deps``, ``daemon_link``) can be
imported and tested outside GIMP; the others talk to GIMP through libgimp.
"""
