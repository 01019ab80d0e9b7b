"""Difficulties (困难问题) and their status machine, escalation, supervised items (督办)
and their tasks.

Imports ``common``, ``access``, ``projects`` and ``events.outbox``.
"""
