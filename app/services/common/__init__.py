"""What every domain shares: the update and archive lifecycle, optimistic versions,
keyset pagination, links, the audit trail and HMAC signatures.

Imports no other domain but the ``Principal`` type of ``access.permissions``.
"""
