"""The bureau's ledger (台账): the column map, reading and writing files, imports and
exports.

Imports ``common``, ``access`` and ``projects``.
"""
