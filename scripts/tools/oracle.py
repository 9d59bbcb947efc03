#!/usr/bin/env python3
"""An independent answer oracle: DuckDB runs the workload on the same Parquet files and every
answer an engine saved (`bench-runner run --save-answers DIR`) must match it value by value.

    oracle.py --data DATASET-DIR --queries QUERIES-DIR --answers DIR [--answers DIR ...]

- Both sides' rows are compared column by column after normalising values: integers of any width
  by value, timestamps as UTC instants in microseconds, strings by text, floats within a relative
  tolerance of 1e-9 (|a - b| <= 1e-9 * max(1, |a|, |b|)). Sums and means computed in another
  order differ in their last bits; 1e-9 is far above that (about n * 2^-53 for n rows) and far
  below any real difference this workload could show.
- A query whose outermost clause is ORDER BY (as DuckDB's own parser sees it, not ours) is
  compared in order; any other query as a multiset (both sides sorted the same way first).
- Known divergences (KNOWN below) name a query's column, the wider bound it gets and the upstream
  issue that explains it. A value beyond 1e-9 but within that bound passes and the verdict says
  `known`; one beyond the wider bound fails as any other.
- `--tolerance X` sets the relative tolerance of floats; `--no-known` gives the known
  divergences no wider bound (for a build with their fixes from patches/).
- Prints one line per query and engine; exits 1 when any answer differs or is missing, 2 on bad
  input. `--json FILE` also writes the verdicts (query, engine, ordered, rows, ok, why, known,
  known_max_relative, max_relative: the largest relative difference of any float compared).
"""

import argparse
import datetime
import decimal
import json
import math
import os
import sys

import duckdb

TOLERANCE = 1e-9

# (query, 1-based column) -> (relative bound, why). DataFusion 55's percentile_cont truncates its
# interpolation weight to six decimals (weight = floor(fraction * 1e6) / 1e6), so its answer can
# be below the exact one by up to (upper - lower) * 1e-6, where upper and lower are the two
# values it interpolates between. In the sparse tail of a small group the gap can be a few times
# the value (largest relative difference seen: 2.3e-6, at 100k rows), hence 1e-5. DuckDB
# interpolates with the full fraction, as the SQL standard's formula does.
KNOWN = {
    ("agg_latency_p99", 2): (
        1e-5,
        "DataFusion 55 truncates percentile_cont's interpolation weight to 6 decimals "
        "(apache/datafusion#25266, fix in PR #25275)",
    ),
}


def parse_query(path):
    """(name, sql) of one query file: the `-- name:` header names it, else the file stem."""
    name = os.path.basename(path)[: -len(".sql")]
    body = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("--") and ":" in stripped:
                key, value = stripped[2:].split(":", 1)
                if key.strip().lower() == "name":
                    name = value.strip()
                continue
            body.append(line)
    sql = "".join(body).strip().rstrip(";").strip()
    return name, sql


def fixes_order(con, sql):
    """Whether DuckDB's parser puts an ORDER BY on the outermost query node."""
    (tree,) = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(tree)
    if tree.get("error"):
        raise ValueError(tree.get("error_message", "unparsable SQL"))
    node = tree["statements"][0]["node"]
    return any(m.get("type") == "ORDER_MODIFIER" for m in node.get("modifiers", []))


def norm(v):
    """A value both sides can be compared on, whatever its physical type."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, float):
        return v
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        delta = v - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return ("ts", delta // datetime.timedelta(microseconds=1))
    if isinstance(v, datetime.date):
        return ("date", v.toordinal())
    return str(v)


def same(a, b, tolerance=TOLERANCE):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or isinstance(a, (str, tuple)) or isinstance(b, (str, tuple)):
            return False
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
    return a == b


def sort_key(row):
    # Floats sort by a coarse rounding so that values within the tolerance sort together.
    return tuple(
        (0, "") if v is None else
        (1, round(v, 6)) if isinstance(v, float) else
        (2, v) if isinstance(v, int) else
        (3, repr(v))
        for v in row
    )


def relative(a, b):
    """|a - b| relative to the larger of 1, |a| and |b| (the tolerance's measure); 0 for values
    that are not both finite numbers."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        return 0.0
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return 0.0
    return abs(a - b) / max(1.0, abs(a), abs(b))


def compare(expected, got, ordered, known=None, tolerance=TOLERANCE):
    """(why, used, largest): why the answers differ (None when they match), the largest relative
    difference that needed the known divergence's wider bound `known` = {column: (bound, reason)}
    (0 when none did), and the largest relative difference of any float compared."""
    known = known or {}
    if len(expected) != len(got):
        return f"{len(got)} rows, DuckDB has {len(expected)}", 0.0, 0.0
    if expected and len(expected[0]) != len(got[0]):
        return f"{len(got[0])} columns, DuckDB has {len(expected[0])}", 0.0, 0.0
    if not ordered:
        expected, got = sorted(expected, key=sort_key), sorted(got, key=sort_key)
    used = largest = 0.0
    for i, (e, g) in enumerate(zip(expected, got)):
        for c, (x, y) in enumerate(zip(e, g)):
            if isinstance(x, float) or isinstance(y, float):
                largest = max(largest, relative(x, y))
            if same(x, y, tolerance):
                continue
            if c + 1 in known and same(x, y, known[c + 1][0]):
                used = max(used, relative(x, y))
                continue
            where = f"row {i + 1}" if ordered else f"row {i + 1} of the sorted answer"
            return f"{where}, column {c + 1}: {y!r}, DuckDB has {x!r}", used, largest
    return None, used, largest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset directory (its *.parquet files)")
    ap.add_argument("--queries", required=True, help="directory of *.sql files")
    ap.add_argument("--answers", required=True, action="append", help="an engine's saved answers")
    ap.add_argument("--json", help="also write the verdicts here")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE,
                    help=f"relative tolerance of floats (default {TOLERANCE})")
    ap.add_argument("--no-known", action="store_true",
                    help="no wider bound for the known divergences: for an engine built with "
                         "their fixes (patches/), whose answers must match as any other")
    args = ap.parse_args()
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        print(f"oracle: --tolerance {args.tolerance}: a relative tolerance is a finite number "
              "of at least 0", file=sys.stderr)
        return 2

    files = sorted(f for f in os.listdir(args.data) if f.endswith(".parquet"))
    if not files:
        print(f"oracle: no *.parquet files in {args.data}", file=sys.stderr)
        return 2
    queries = [parse_query(os.path.join(args.queries, f))
               for f in sorted(os.listdir(args.queries)) if f.endswith(".sql")]
    if not queries:
        print(f"oracle: no *.sql files in {args.queries}", file=sys.stderr)
        return 2

    con = duckdb.connect()
    # Timestamps with a time zone are UTC, as in the data; one thread keeps it simple and
    # changes nothing in the answers.
    con.execute("SET TimeZone = 'UTC'")
    glob = os.path.join(os.path.abspath(args.data), "*.parquet")
    con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{glob}')")

    verdicts = []
    for name, sql in queries:
        ordered = fixes_order(con, sql)
        expected = [tuple(norm(v) for v in r) for r in con.execute(sql).fetchall()]
        for answers in args.answers:
            path = os.path.join(answers, f"{name}.parquet")
            v = {"query": name, "engine": answers, "ordered": ordered, "rows": len(expected)}
            if not os.path.exists(path):
                v.update(ok=False, why=f"no saved answer {path}")
            else:
                got = [tuple(norm(x) for x in r) for r in
                       con.execute("SELECT * FROM read_parquet(?)", [path]).fetchall()]
                known = {} if args.no_known else {c: k for (q, c), k in KNOWN.items() if q == name}
                why, used, largest = compare(expected, got, ordered, known, args.tolerance)
                v.update(ok=why is None, why=why,
                         known="; ".join(k[1] for k in known.values()) if used else None,
                         known_max_relative=used, max_relative=largest)
            verdicts.append(v)
            state = "DIFFERS: " + v["why"] if not v["ok"] else \
                f"ok within a known divergence (largest relative difference " \
                f"{v['known_max_relative']:.1e}): {v['known']}" if v.get("known") else \
                f"ok (largest relative difference {v['max_relative']:.1e})" if v.get("max_relative") else "ok"
            print(f"{name} [{answers}] {len(expected)} rows{' in order' if ordered else ''}: {state}")

    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(verdicts, f, indent=1)
        os.replace(tmp, args.json)
    bad = [v for v in verdicts if not v["ok"]]
    print(f"oracle: {len(verdicts) - len(bad)} of {len(verdicts)} answers match DuckDB "
          f"{duckdb.__version__}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
