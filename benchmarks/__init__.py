"""goalflow's benchmark: goalflow against a bare eventsourcing baseline, in the same run.

Run it with ``scripts/bench`` (``--help`` for the options); see ``benchmarks/README.md``.
"""
