"""Aggregates, all computed by the database: a project on a date (the timeline), the
pipeline, targets progress, project health (red/amber/green), the leaders' dashboards,
accountability.

Reads ``projects`` and ``supervision``; writes nothing.
"""
