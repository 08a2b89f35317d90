"""Locks that keep two processes from running the same job at once.

PostgreSQL session advisory locks: taken on the process's own connection,
held across the job's many short transactions, and released by the server
if the process dies, so a killed job never leaves a stale lock behind. For
work inside one transaction, `lock_until_commit` waits for a lock the
transaction's end releases.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connections

# Advisory lock keys are one bigint space for the whole database; this prefix
# keeps Clozup's names apart from anyone else's.
PREFIX = "clozup:"


@contextmanager
def try_advisory_lock(name: str, *, using: str = "default") -> Iterator[bool]:
    """Yield True holding the lock named `name`, or False when another
    session holds it (nothing waits). Released on exit."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [PREFIX + name]
        )
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            _unlock(connection, name)


def lock_until_commit(name: str, *, using: str = "default") -> None:
    """Wait for the lock named `name`; it is held until the transaction ends."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [PREFIX + name]
        )


def _unlock(connection, name: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [PREFIX + name]
            )
    except DatabaseError:
        # The connection is gone, and the server released its locks with it.
        connection.close()
