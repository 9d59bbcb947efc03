#!/usr/bin/env python3
"""DuckDB for `bench-runner run --engine duckdb`: one long-lived process that the runner starts
and talks to over its standard input and output, so that each measured execution costs DuckDB's
work plus one round trip, not a process start.

    duckdb_worker.py --threads N [--memory-limit BYTES]

On start it prints one JSON line: {"version", "threads", "memory_limit", "settings"}. Then it
reads one JSON request per line and answers each with one JSON line (and, for a query, the
answer's bytes after it):

- {"op": "register", "table": T, "files": [PATH, ...]}: a view T over the Parquet files.
- {"op": "query", "sql": S}: runs S and materializes its whole answer as an Arrow table (as
  DataFusion's `collect` does), timed by DuckDB's side alone; answers {"ok", "ns", "rows",
  "bytes"}, then `bytes` bytes of the answer as an Arrow IPC stream.
- {"op": "explain", "sql": S}: DuckDB's optimized logical plan and physical plan, as text.
- {"op": "analyze", "sql": S}: runs S under EXPLAIN ANALYZE; the annotated plan as text.
Any failure answers {"ok": false, "error": ONE-LINE} and the worker goes on. The runner reads
this process's peak memory itself (/proc/PID/status), and embeds this file: it runs it with
`python -c`.
"""

import argparse
import json
import os
import sys
import time

try:
    import duckdb
    import pyarrow as pa
    import pyarrow.ipc
except ImportError as missing:
    print(json.dumps({"error": f"missing Python module {missing.name}", "missing": missing.name}), flush=True)
    sys.exit(1)


def one_line(e):
    return " ".join(str(e).split())


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def settings(con):
    return {n: str(v) for n, v in con.execute("SELECT name, value FROM duckdb_settings()").fetchall()}


class Worker:
    def __init__(self, threads, memory_limit):
        self.con = duckdb.connect(":memory:")
        # The answers' instants are UTC, as the dataset's are; no local time zone leaks in.
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            self.con.execute(f"SET memory_limit = '{int(memory_limit)}B'")
        # DuckDB draws a progress bar on standard output for a query past 2 s (at 200M rows,
        # most of the workload): off, a display setting that does not touch the plan.
        self.con.execute("SET enable_progress_bar = false")
        # Every other setting stays at DuckDB's default; hello() reports the ones that bear on a
        # benchmark (enable_object_cache, its Parquet metadata cache, is off by default in 1.4).

    def hello(self, defaults):
        now = settings(self.con)
        return {
            "version": duckdb.__version__,
            "pyarrow": pa.__version__,
            "threads": int(now.get("threads", "0")),
            "memory_limit": now.get("memory_limit"),
            # Every setting this worker changed, with DuckDB's own value for it.
            "changed": {
                k: {"value": v, "default": defaults.get(k)}
                for k, v in sorted(now.items())
                if defaults.get(k) != v
            },
        }

    def register(self, table, files):
        if not files:
            raise ValueError("no Parquet files to register")
        listed = ", ".join(quote(f) for f in files)
        self.con.execute(
            f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM read_parquet([{listed}])'
        )
        return {"ok": True}

    def query(self, sql):
        start = time.perf_counter_ns()
        answer = self.con.execute(sql).fetch_arrow_table()
        ns = time.perf_counter_ns() - start
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, answer.schema) as w:
            w.write_table(answer)
        body = sink.getvalue()
        return {"ok": True, "ns": ns, "rows": answer.num_rows, "bytes": body.size}, body

    def explain(self, sql):
        def text(kind):
            self.con.execute(f"SET explain_output = '{kind}'")
            rows = self.con.execute("EXPLAIN " + sql).fetchall()
            return "\n".join(str(r[-1]) for r in rows)

        try:
            return {"ok": True, "logical": text("optimized_only"), "physical": text("physical_only")}
        finally:
            self.con.execute("RESET explain_output")

    def analyze(self, sql):
        rows = self.con.execute("EXPLAIN ANALYZE " + sql).fetchall()
        return {"ok": True, "text": "\n".join(str(r[-1]) for r in rows)}


def main():
    p = argparse.ArgumentParser(description="DuckDB for bench-runner run --engine duckdb")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--memory-limit", type=int)
    args = p.parse_args()
    # The replies go to a private copy of standard output, and standard output itself becomes
    # standard error: whatever DuckDB or a library prints can never interleave with a reply.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        defaults = settings(duckdb.connect(":memory:"))
        w = Worker(args.threads, args.memory_limit)
        hello = w.hello(defaults)
    except Exception as e:  # noqa: BLE001 - any start-up failure is reported in one line
        hello = {"error": one_line(e)}
    out.write(json.dumps(hello).encode() + b"\n")
    out.flush()
    if "error" in hello:
        return 1
    for line in sys.stdin.buffer:
        body = None
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "register":
                reply = w.register(req["table"], req["files"])
            elif op == "query":
                reply, body = w.query(req["sql"])
            elif op == "explain":
                reply = w.explain(req["sql"])
            elif op == "analyze":
                reply = w.analyze(req["sql"])
            else:
                reply = {"ok": False, "error": f"unknown request {op!r}"}
        except Exception as e:  # noqa: BLE001 - every failure goes back to the runner
            reply, body = {"ok": False, "error": one_line(e)}, None
        out.write(json.dumps(reply).encode() + b"\n")
        if body is not None:
            out.write(memoryview(body))
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
