"""Database helpers the ORM lacks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from typing import cast as typing_cast

import psycopg
from django.db import connection, models
from django.db.models import NOT_PROVIDED
from django.db.models.options import Options

_M = TypeVar("_M", bound=models.Model)


@contextmanager
def column_cursor() -> Iterator[Any]:
    """A cursor for statements whose parameters are whole columns (arrays), bound on the server in binary.

    Django's cursors bind parameters in the client (psycopg's ClientCursor), which quotes each
    element of an array in Python: about 4 microseconds a value, most of the CPU of a batch of
    500 confirmations. Sent as binary parameters (`%b` placeholders), a column of 5,000 values
    costs about a tenth of that. The cursor is wrapped as Django wraps its own, so the statement
    is logged, counted (CaptureQueriesContext) and its errors are Django's.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw: Any = psycopg.Cursor(connection.connection)  # django-stubs type the wrapped cursor as a wrapper
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()


def _column(values: list[Any]) -> list[Any] | None:
    """A column as a binary array parameter; None (SQL NULL) when every value is: such an array has no type."""
    return None if all(value is None for value in values) else values


def _cast(field: models.Field[Any, Any]) -> str:
    """The column's type without its length: a cast to varchar(10) would cut a longer value without an error,
    where the column itself refuses it (as Django's own unnest insert does)."""
    return str(field.db_type(connection)).split("(")[0]


def _concrete_fields(meta: Options[Any], names: list[str]) -> list[models.Field[Any, Any]]:
    """The named fields. Callers name concrete columns only, never reverse or generic relations."""
    return [typing_cast("models.Field[Any, Any]", meta.get_field(name)) for name in names]


def _values_update(objs: Sequence[_M], fields: list[str]) -> tuple[str, list[Any]]:
    """UPDATE ... FROM unnest(...) setting `fields` of `objs` by primary key: its SQL and parameters.

    Each column goes as one array parameter, not one parameter per value: neither Django nor
    psycopg then prepares thousands of parameters for a batch of confirmations.
    """
    meta = type(objs[0])._meta
    pk = meta.pk
    columns = _concrete_fields(meta, fields)
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%b::{_cast(f)}[]" for f in [pk, *columns])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    names = ", ".join(quote(f.column) for f in [pk, *columns])
    params: list[Any] = [[pk.get_db_prep_save(obj.pk, connection) for obj in objs]]
    params.extend(_column([f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs]) for f in columns)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 (names come from the model)
        f"FROM unnest({arrays}) AS v({names}) WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    return sql, params


def bulk_update_rows(objs: Sequence[_M], fields: list[str], *, chunk: int = 1000) -> None:
    """Write `fields` of many rows in one statement per chunk.

    On PostgreSQL: UPDATE ... FROM unnest(...), which stays linear where
    QuerySet.bulk_update's CASE WHEN grows quadratic in Python. Elsewhere it
    falls back to bulk_update.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        # Every model here has `objects` as its only, hence default, manager.
        model._default_manager.bulk_update(objs, fields, batch_size=min(chunk, 200))
        return
    for start in range(0, len(objs), chunk):
        sql, params = _values_update(objs[start : start + chunk], fields)
        with column_cursor() as cursor:
            cursor.execute(sql, params)


def insert_columns(
    model: type[_M], count: int, columns: dict[str, Any], *, returning: tuple[str, ...] = ("pk",)
) -> list[tuple[Any, ...]]:
    """Insert `count` rows given column by column, for tens of thousands of rows at once; return `returning`.

    Each value in `columns` (by field name) is a list with one value per row, or a single value for
    every row; a name that is not a field is refused. A field not named takes its default: a callable
    default is called once per row (a random key stays unique). No signals, no model instances, no
    save(): a field save() would set (auto_now, auto_now_add) or with a database default must be given.

    On PostgreSQL this is one INSERT ... SELECT FROM unnest(...): one binary array parameter per
    column (column_cursor), not one parameter per value. Elsewhere (SQLite, for `make run`),
    multi-row INSERT ... VALUES in batches the database's parameter limit allows. Values are
    prepared by each field as the ORM would. The rows come back in the order given.
    """
    if count == 0:
        return []
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if f is not pk]
    unknown = set(columns) - {f.name for f in fields}
    if unknown:
        raise ValueError(f"not fields of {meta.label}: {', '.join(sorted(unknown))}")
    for field in fields:
        set_on_save = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if field.name not in columns and (set_on_save or field.db_default is not NOT_PROVIDED):
            raise ValueError(f"{meta.label}.{field.name} is set on save(), which insert_columns does not call: give it")
    values: dict[str, Any] = {}
    for field in fields:
        if field.name in columns:
            values[field.attname] = columns[field.name]
        elif field.has_default() and callable(field.default):
            values[field.attname] = [field.get_default() for _ in range(count)]
        else:
            values[field.attname] = field.get_default()
    for name, value in values.items():
        if isinstance(value, list) and len(value) != count:
            raise ValueError(f"{count} rows, but {len(value)} values for {name}")
        if isinstance(value, list) and all(v is None for v in value):
            values[name] = None  # NULL for every row (an array of nothing but NULL has no type to bind)
    named = [pk if name == "pk" else _concrete_fields(meta, [name])[0] for name in returning]
    quote = connection.ops.quote_name
    returned = ", ".join(quote(field.column) for field in named)
    if connection.vendor != "postgresql":
        return _insert_values(meta, fields, values, count, returned)
    selected: list[str] = []  # the SELECT list: a single value's placeholder, or an array's alias
    singles: list[Any] = []  # their parameters, in the SELECT list's order, before the arrays'
    arrays: list[str] = []
    lists: list[Any] = []
    for field in fields:
        value = values[field.attname]
        if isinstance(value, list):
            arrays.append(f"%b::{_cast(field)}[]")
            selected.append(f"c{len(arrays)}")
            lists.append(value if _plain(field) else [field.get_db_prep_save(v, connection) for v in value])
        else:
            selected.append(f"%s::{_cast(field)}")
            singles.append(field.get_db_prep_save(value, connection))
    if arrays:
        aliases = ", ".join(f"c{n}" for n in range(1, len(arrays) + 1))
        source = f"unnest({', '.join(arrays)}) WITH ORDINALITY AS u({aliases}, n)"
    else:
        source, lists = "generate_series(1, %s::integer) AS u(n)", [count]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (model names)
        f"SELECT {', '.join(selected)} FROM {source} ORDER BY n" + (f" RETURNING {returned}" if returned else "")
    )
    with column_cursor() as cursor:
        cursor.execute(sql, singles + lists)
        return [tuple(row) for row in cursor.fetchall()] if returned else []


def _insert_values(
    meta: Options[Any], fields: list[models.Field[Any, Any]], values: dict[str, Any], count: int, returned: str
) -> list[tuple[Any, ...]]:
    """insert_columns without arrays: multi-row INSERT ... VALUES, as many rows a statement as its parameters allow."""
    prepared = [
        [field.get_db_prep_save(v, connection) for v in value]
        if isinstance(value := values[field.attname], list)
        else [field.get_db_prep_save(value, connection)] * count
        for field in fields
    ]
    rows = list(zip(*prepared, strict=True))
    quote = connection.ops.quote_name
    per_statement = max(1, (connection.features.max_query_params or 30_000) // len(fields))
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    written: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, count, per_statement):
            batch = rows[start : start + per_statement]
            sql = (
                f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (model names)
                f"VALUES {', '.join([placeholders] * len(batch))}" + (f" RETURNING {returned}" if returned else "")
            )
            cursor.execute(sql, [value for row in batch for value in row])
            if returned:
                written.extend(tuple(row) for row in cursor.fetchall())
    return written


# Fields whose values the driver takes as they are, by exact type: a subclass (an encrypted text field, say) may
# change the value on its way to the database, so its values go through it, one by one.
_PLAIN = frozenset(
    {
        models.CharField,
        models.TextField,
        models.BooleanField,
        models.ForeignKey,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
    }
)


def _plain(field: models.Field[Any, Any]) -> bool:
    """Whether a column of this field's values can be bound as given (a date-time, JSON, a UUID go through it)."""
    return type(field) in _PLAIN
