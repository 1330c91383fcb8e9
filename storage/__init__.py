"""Persistence: SQLModel tables, async sessions, migrations."""
