"""Statements run as one executemany of plain tuples, for the inbound batch's writes
(notify.inbound.writes): the cost per row of SQLAlchemy's own executemany was as much as
the database's (measured with bench/take_in.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


class Many:
    """A statement run as one executemany of plain tuples: compiled once per dialect and
    set of columns, each value through its column type's bind processor as SQLAlchemy
    would, but once per distinct value of a column (the batch's one `now`) and without
    its work per row, which cost as much as the database's own (measured: bench/
    take_in.py). A dialect with named parameters goes through `session.execute`."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, str, tuple[str, ...]], Plan] = {}

    async def run(self, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int | None:
        """Every row (all with the same keys); the rows it matched, where the driver
        counts them for an executemany (None: it does not)."""
        connection = await session.connection()
        dialect = connection.dialect
        names = tuple(rows[0])
        plan = self._plans.get((dialect.name, dialect.driver, names))
        if plan is None:
            plan = self._plans[(dialect.name, dialect.driver, names)] = Plan(
                self.statement, dialect, names
            )
        if plan.sql is None:
            result = await session.execute(self.statement, rows)
        else:
            result = await connection.exec_driver_sql(plan.sql, plan.values(rows))
        counted = dialect.supports_sane_multi_rowcount
        return cast(CursorResult[Any], result).rowcount if counted else None


class Plan:
    """`Many`'s statement compiled for one dialect: its SQL (None: not positional), the
    row's key of each positional parameter, and the bind processors of their types."""

    def __init__(self, statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> None:
        compiled = cast(Any, statement).compile(dialect=dialect, column_keys=list(names))
        self.sql: str | None = str(compiled) if compiled.positional else None
        self.names: list[str] = list(compiled.positiontup or [])
        processors = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.names
        ]
        self.processed = [(i, p) for i, p in enumerate(processors) if p is not None]

    def values(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The rows as the driver takes them; a value met before in the same parameter is
        converted once."""
        converted: list[dict[Any, Any]] = [{} for _ in self.processed]
        tuples = []
        for row in rows:
            values = [row[name] for name in self.names]
            for (index, process), seen in zip(self.processed, converted, strict=True):
                raw = values[index]
                if raw is not None:
                    done = seen.get(raw)
                    if done is None:
                        done = seen[raw] = process(raw)
                    values[index] = done
            tuples.append(tuple(values))
        return tuples
