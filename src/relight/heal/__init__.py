"""Self-healing: the scheduler of heal passes, incidents, and notifications to people.

``relight heal`` runs one :class:`~relight.heal.healer.Healer` pass; ``relight watch`` loops.
A pass is a run of the run layer (:mod:`relight.runs.healpass`; what counts as a recovery is
:mod:`relight.runs.classify`, the ``relight { heal { ... } }`` block is
:mod:`relight.runs.healpolicy`). This package keeps what lasts between passes: incidents
(:mod:`relight.heal.incidents`), notifications (:mod:`relight.heal.notify`) and back-off.
"""
