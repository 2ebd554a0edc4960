"""Relational storage: SQLAlchemy engine, sessions and Alembic migrations."""
