"""The auditor's and clinician's report: a goal's whole life as one self-contained HTML page.

:func:`render` gathers what the store already knows (the goal as recorded, its audit trail
from the ``audit`` read model, its readings, the log's digest and verification) into a
context and renders it with the Jinja2 templates in ``templates/`` (autoescaped: every text
a person typed is shown, never run). :mod:`goalflow.report.pdf` prints it with a headless
Chromium.
"""

from goalflow.report.build import render

__all__ = ["render"]
