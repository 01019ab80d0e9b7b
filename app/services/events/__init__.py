"""What leaves the service: the outbox, webhook subscriptions, their delivery, and the
housekeeping that drops what has served its time.

Imports ``common`` and ``access``; no domain imports this but ``outbox``.
"""
