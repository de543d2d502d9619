"""Server-rendered pages: sign-in, settings, inbox, thread, deal/lead/project/person views.

The package imports none of its views (they import the blueprint, so that would
be a cycle): backend.web.register attaches them and puts the pages on the app.
"""
from __future__ import annotations

from .blueprint import bp  # noqa: F401 - the view modules' `from . import bp`
