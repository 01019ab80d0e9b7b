"""The registry: projects, the stage state machine and its history, designations,
national project codes and their history (``codes``), leaders in charge and responsible
units, zones and industries (``reference``), exchange rates, the year's targets.

Imports ``common``, ``access``, ``events.outbox`` to emit what changed, and
``approvals.events`` to apply the approval events that waited for a project's code.
"""
