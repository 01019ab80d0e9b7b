"""The rules of the service, one folder per part of the business.

Routers call these; these never speak HTTP (no status codes, no requests, no
responses). Each folder's docstring says what it owns and what it may import:
``common`` and ``access`` import no other domain; the others import ``common``,
``access`` and the domains below them in this list, never one above.

    common      the update/archive lifecycle, versioning, pagination, links, audit, signatures
    access      keys, authentication, permissions, rate limit, idempotency
    projects    the registry: projects, stages, leaders and units, exchange rates, targets
    stats       a project on a date, pipeline, targets progress, health, dashboards, accountability
    supervision difficulties and their status machine, escalation, supervised items and tasks
    approvals   approval items, inbound events, signing secrets, approval statistics
    events      outbox, webhooks, delivery, housekeeping
    ledger      columns, files, imports, exports
"""
