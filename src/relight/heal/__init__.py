"""Self-healing: notice vanished objects, recover them by policy, record incidents, tell people.

``relight heal`` runs one :class:`Healer` pass; ``relight watch`` loops. See
:mod:`relight.heal.healer` for the pass, :mod:`relight.heal.classify` for what counts as a
recovery, and :mod:`relight.heal.policy` for the ``relight { heal { ... } }`` block.
"""
