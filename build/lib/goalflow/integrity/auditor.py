"""Read-only access for auditors on PostgreSQL: a login role that can read goalflow's
tables (events, chain, read models and goalflow's own bookkeeping) and nothing else."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.rows import tuple_row

from goalflow.errors import StoreError


def grant_auditor(store: Any, role: str, password: str | None = None) -> list[str]:
    """Create (or update) ``role``: it may log in and SELECT goalflow's tables of this
    store; it owns nothing, creates nothing and writes nothing. Returns the tables it
    can read."""
    if store.url.kind != "postgresql":
        raise StoreError("grant-auditor is for PostgreSQL stores; on SQLite give the auditor"
                         " a read-only copy of the file (every inspection command reads it)")
    if not role or len(role) > 63:
        raise StoreError("the auditor's role name must be 1 to 63 characters")
    schema = store.url.schema
    name = sql.Identifier(role)
    with store.recorder.transaction(commit=True) as tx:
        cursor = tx.cursor.connection.cursor(row_factory=tuple_row)
        exists = cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s",
                                (role,)).fetchone()
        if exists and exists[0]:
            raise StoreError(f"role {role} is a superuser: an auditor's role must not be")
        if not exists:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
        cursor.execute(sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                               " NOREPLICATION NOBYPASSRLS").format(name))
        if password is not None:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                name, sql.Literal(password)))
        cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(store.url.dbname), name))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            sql.Identifier(schema), name))
        cursor.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(
            sql.Identifier(schema), name))
        tables = [row[0] for row in cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'v')"
            " AND (c.relname LIKE 'goalflow\\_%%' OR c.relname LIKE 'gf\\_%%')"
            " ORDER BY c.relname", (schema,)).fetchall()]
        for table in tables:
            cursor.execute(sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
                sql.Identifier(schema), sql.Identifier(table), name))
            cursor.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES,"
                                   " TRIGGER ON {}.{} FROM {}").format(
                sql.Identifier(schema), sql.Identifier(table), name))
        if schema != "public":
            # A schema of goalflow's own: tables it makes later (a rebuilt read model's
            # next generation) are readable too. In public this would reach other
            # applications' tables; there, run grant-auditor again after a rebuild.
            cursor.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON"
                                   " TABLES TO {}").format(sql.Identifier(schema), name))
    return tables
