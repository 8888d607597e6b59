"""goalflow's read models, installed as the importable package ``goalflow_projections``.

Each module is one projection: current plans, the audit trail, the reviews
worklist. They import only goalflow's public names (:mod:`goalflow`) and its projection
interface (:mod:`goalflow.projection`, which also gives ``plain``, the JSON-ready form of
event values), as a test checks; goalflow finds them through the ``goalflow.projections``
entry-point group.
"""
