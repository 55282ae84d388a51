"""Metadata store: SQLAlchemy engine and sessions, tables, migrations, and on-disk artifacts.

Imports without torch or transformers.
"""

from tunelab.store.db import Store, make_engine, open_store

__all__ = ["Store", "make_engine", "open_store"]
