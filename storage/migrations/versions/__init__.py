"""One module per revision (Alembic loads them by file; a package so they ship and are type-checked)."""
