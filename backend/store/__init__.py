from backend.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore"]
