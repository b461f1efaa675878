"""Team mode's storage on Postgres (asyncpg, the optional extra ``chatkit-desk[team]``).

Nothing here is imported unless ``CHATKIT_DESK_DATABASE_URL`` is set (``backend.store.storage``).
"""
