"""KQL functions the usual break-glass alert queries need and duckdb-kql 1.1.2 lacks.

duckdb-kql keeps its translations in two registries of SQL templates (`duckdb_kql.translate.functions`);
we add entries there rather than fork the package. That surface is private, so the version is pinned in
pyproject and tests/sim/logs pin the behaviour of every function added here: a change upstream fails them.
Dynamic values are JSON in duckdb-kql (make_set returns a JSON array), and these follow suit.
"""

from __future__ import annotations

from duckdb_kql.translate import functions as _f

# Kusto's make_set over rows matching a predicate; nulls are skipped, as make_set skips them.
_MAKE_SET_IF = (
    "to_json(coalesce(list_distinct(flatten(list(CASE WHEN json_type(TRY_CAST({0} AS JSON)) = 'ARRAY' "
    "THEN CAST(to_json({0}) AS JSON[]) ELSE [to_json({0})] END) "
    "FILTER (WHERE {0} IS NOT NULL AND ({1})))), []))"
)
_AS_LIST = "coalesce(CAST(to_json({}) AS JSON[]), [])"


def _set_union(n: int) -> str:
    parts = ", ".join(_AS_LIST.format("{%d}" % i) for i in range(n))  # noqa: UP031 - building a template
    return f"to_json(list_distinct(flatten([{parts}])))"


ADDED_AGGREGATES = {
    "anyif": _f.AggregateSpec(name="anyif", template="any_value({0}) FILTER (WHERE {1})", arities=(2,)),
    "make_set_if": _f.AggregateSpec(
        name="make_set_if", template=_MAKE_SET_IF, arities=(2, 3), name_prefix="set"
    ),
}

ADDED_SCALARS = {
    # A row's arrival in the workspace (the hidden `_TimeReceived` column the store keeps), not its
    # TimeGenerated: the two differ by the ingestion latency.
    "ingestion_time": _f.FunctionSpec(
        name="ingestion_time", kind="template", template='"_TimeReceived"', arities=(0,)
    ),
    "set_union": _f.FunctionSpec(name="set_union", kind="template", template=_set_union(2), arities=(2,)),
    "strcat_array": _f.FunctionSpec(
        name="strcat_array",
        kind="template",
        template="array_to_string(list_transform(" + _AS_LIST.format("{0}") + ", x -> x->>'$'), {1})",
        arities=(2,),
    ),
}


def install() -> None:
    """Register the extensions (idempotent); refuse to shadow a function upstream started to provide."""
    for registry, added in ((_f.AGGREGATE_FUNCTIONS, ADDED_AGGREGATES), (_f.SCALAR_FUNCTIONS, ADDED_SCALARS)):
        for name, spec in added.items():
            current = registry.get(name)
            if current is not None and current is not spec:
                raise RuntimeError(f"duckdb-kql now defines {name}(): drop our extension, re-check the tests")
            registry[name] = spec  # type: ignore[assignment]
