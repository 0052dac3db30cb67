"""`toaster telemetry export`: the recorded toasts as two flat tables (csv or parquet):
`ticks` (one row per T frame of a toast) and `sessions` (one row per toast). Every row
carries the model id, the boot id and the session number, so the tables join."""

from pathlib import Path

from firmware import protocol
from host.telemetry import records
from host.telemetry.summary import COLUMNS, elapsed_s, start_ms, summarise

_TYPES = {"str": "string", "int": "int64", "float": "float64", "bool": "bool_"}

# ticks: who, when, then the T frame's own fields (typed as in the session files).
TICK_COLUMNS = (
    (("boot_id", "str"), ("session", "int"), ("model", "str"), ("host_t", "float"),
     ("seq", "int"), ("ms", "int"), ("t_s", "float"))
    + tuple((name, "int" if name in records.NUMBERS else "str")
            for name in protocol.FIELDS["T"] if name != "session")
)
FORMATS = ("csv", "parquet")


def _schema(columns):
    import pyarrow as pa
    return pa.schema([(name, getattr(pa, _TYPES[kind])()) for name, kind in columns])


def tables(sessions):
    """(ticks, sessions) as pyarrow Tables."""
    import pyarrow as pa
    ticks, rows = [], []
    for session in sessions:
        summary = summarise(session)
        rows.append(summary)
        t0 = start_ms(session.records)
        for r in session.records:
            if r["kind"] == "T":
                row = {name: r.get(name) for name, _ in TICK_COLUMNS}
                row["t_s"] = elapsed_s(r["ms"], t0)
                ticks.append(row)
    return (pa.Table.from_pylist(ticks, schema=_schema(TICK_COLUMNS)),
            pa.Table.from_pylist(rows, schema=_schema(COLUMNS)))


def write(sessions, out, fmt):
    """Write ticks.<fmt> and sessions.<fmt> into folder `out`; returns their paths."""
    import pyarrow.csv
    import pyarrow.parquet
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in zip(("ticks", "sessions"), tables(sessions)):
        path = out / ("%s.%s" % (name, fmt))
        if fmt == "csv":
            pyarrow.csv.write_csv(table, path)
        else:
            pyarrow.parquet.write_table(table, path)
        paths.append((path, table.num_rows))
    return paths
