"""The registry: projects, the stage state machine and its history, designations,
leaders in charge and responsible units, exchange rates, the year's targets.

Imports ``common``, ``access``, ``events.outbox`` to emit what changed, and
``approvals.events`` to apply the approval events that waited for a project's code.
"""
