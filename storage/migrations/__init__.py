"""The schema's migrations (Alembic), shipped inside the package so an installed wheel can migrate.

`env.py` is Alembic's environment and `versions/` holds one module per revision; both are run by
`storage.migrate` only, which configures Alembic in code (no alembic.ini) and owns the connection,
the transaction and the lock. To add a revision after changing a table model:

    python -m storage.migrations revision "what changed"

writes `versions/v<date>_<rev>_<slug>.py` from the difference between the models and a scratch
SQLite database upgraded to the current head; read it, finish it (data moves, PostgreSQL-only
details), and test it on both backends (tests/storage/test_storage_migrate.py).
"""
