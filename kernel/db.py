"""The database connection of a thread that waits on the outside world.

With psycopg's pool (``DATABASES["default"]["OPTIONS"]["pool"]``, see
``realname.settings.base.database_pool_from_env``) a thread holds a connection from its first
query until Django closes it. A worker thread that kept it through a vendor's two seconds would
need one connection per thread: 128 threads, 128 connections, and PostgreSQL's 100 refuse the
rest ("too many clients"). :func:`release_connection` gives it back before such a wait; the
next query takes one again. :func:`database_busy` tells the errors of a database that is
there but full (no free pooled connection in time, or the server's connection limit) from the
others: those are worth retrying soon."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg_pool import PoolTimeout

__all__ = ["database_busy", "is_pooled", "release_connection"]

# PostgreSQL's answer to a connection over max_connections (SQLSTATE 53300, but a refused
# connection carries no SQLSTATE in psycopg: the message is all there is).
_TOO_MANY_CLIENTS = ("too many clients", "remaining connection slots are reserved")


def is_pooled(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return bool(connections.settings[alias].get("OPTIONS", {}).get("pool"))


def release_connection(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """Give this thread's pooled connection back to the pool, unless a transaction is open
    (closing would roll it back); True if it was given back. Without a pool this does nothing:
    a persistent connection is kept, not reopened after every wait."""
    if not is_pooled(alias):
        return False
    connection = connections[alias]
    if connection.connection is None or connection.in_atomic_block:
        return False
    connection.close()
    return True


def database_busy(exc: BaseException) -> bool:
    """True for a database that answers but has no connection for us now: the pool's wait ran
    out (``psycopg_pool.PoolTimeout``, which Django wraps in ``OperationalError``) or the server
    refused a connection over its limit."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout):
            return True
        if any(words in str(current) for words in _TOO_MANY_CLIENTS):
            return True
        current = current.__cause__ or current.__context__
    return False
