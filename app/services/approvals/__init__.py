"""Approval items (审批事项) and their kinds, the status events approval systems push,
the integration keys' signing secrets, how long approvals take.

Imports ``common``, ``access``, ``projects`` and ``events.outbox``.
"""
