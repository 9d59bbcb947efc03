#!/usr/bin/env python3
"""DuckDB writing the access-log schema with SQL vs data-gen, side by side in one run.

DuckDB gets the same row count, thread count, compression and row-group size, and a query that
draws comparable values: hash-derived uniforms, a Zipf-like user id, weighted methods, statuses
and regions, ~200 endpoints, log-normal latency and size, and a monotonic timestamp over the
same 30-day window. The two are run alternately, `--repeats` times each, and the ratio of the
median wall times is reported.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

import duckdb

U = "(hash(i, {k})::DOUBLE / 18446744073709551616.0)"

SQL = """
COPY (
  WITH u AS (
    SELECT i, {u1} AS u1, {u2} AS u2, {u3} AS u3, {u4} AS u4,
           greatest({u5}, 1e-12) AS u5, {u6} AS u6, {u7} AS u7
    FROM range({n}) t(i)
  ), s AS (
    SELECT *,
      CASE WHEN u4 < 0.80 THEN 200 WHEN u4 < 0.86 THEN 201 WHEN u4 < 0.88 THEN 204
           WHEN u4 < 0.885 THEN 301 WHEN u4 < 0.92 THEN 304 WHEN u4 < 0.935 THEN 400
           WHEN u4 < 0.945 THEN 401 WHEN u4 < 0.952 THEN 403 WHEN u4 < 0.975 THEN 404
           WHEN u4 < 0.985 THEN 429 WHEN u4 < 0.99 THEN 500 WHEN u4 < 0.993 THEN 502
           WHEN u4 < 0.997 THEN 503 ELSE 504 END::SMALLINT AS status_code,
      CAST(floor(pow(201.0, u3)) AS BIGINT) - 1 AS e
    FROM u
  )
  SELECT
    make_timestamp(1767225600000000 + CAST(i * (2592000000000.0 / {n}) AS BIGINT))::TIMESTAMPTZ AS ts,
    ((CAST(floor(pow(10000001.0, u1)) AS BIGINT) - 1) * 7368787 + 104729) % 10000000 + 1 AS user_id,
    CASE WHEN u2 < 0.74 THEN 'GET' WHEN u2 < 0.86 THEN 'POST' WHEN u2 < 0.91 THEN 'PUT'
         WHEN u2 < 0.95 THEN 'DELETE' ELSE 'PATCH' END AS method,
    '/api/v' || (1 + e % 2)::VARCHAR || '/resource' || (e // 8)::VARCHAR
      || ['', '/{{id}}', '/search', '/export'][1 + (e // 2) % 4] AS endpoint,
    status_code,
    round(exp(ln(12.0 * (1 + e % 7)) + 0.8 * sqrt(-2 * ln(u5)) * cos(2 * pi() * u6))
          * CASE WHEN status_code >= 500 THEN 3.0 WHEN status_code >= 400 THEN 0.5 ELSE 1.0 END, 3)
      AS latency_ms,
    greatest(1, CAST(exp(ln(900.0) + sqrt(-2 * ln(u5)) * sin(2 * pi() * u6)) AS BIGINT)) AS bytes_sent,
    ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1',
     'ap-south-1', 'sa-east-1', 'ca-central-1', 'af-south-1'][1 + CAST(floor(u7 * u7 * 10) AS INT)]
      AS region
  FROM s
) TO '{out}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE {rg}{per_thread})
"""


def duckdb_run(n, threads, codec, rg, out_dir, per_thread):
    shutil.rmtree(out_dir, ignore_errors=True)
    target = out_dir if per_thread else os.path.join(out_dir, "logs.parquet")
    if not per_thread:
        os.makedirs(out_dir)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    sql = SQL.format(
        n=n, out=target, codec=codec, rg=rg,
        per_thread=", PER_THREAD_OUTPUT true" if per_thread else "",
        **{f"u{k}": U.format(k=k) for k in range(1, 8)},
    )
    t = time.perf_counter()
    con.execute(sql)
    elapsed = time.perf_counter() - t
    con.close()
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out_dir) for f in fs)
    return elapsed, size


def data_gen_run(exe, n, files, threads, codec, out_dir):
    shutil.rmtree(out_dir, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(
        [exe, "--rows", str(n), "--files", str(files), "--threads", str(threads),
         "--compression", codec, "--quiet", "--out", out_dir],
        check=True,
    )
    elapsed = time.perf_counter() - t
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    return elapsed, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-gen", required=True, help="path to the data-gen binary")
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compression", default="zstd")
    ap.add_argument("--row-group-rows", type=int, default=1 << 20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scratch", default="target/bench-scratch/duckdb")
    args = ap.parse_args()

    runs = {"data-gen": [], "duckdb (one file)": [], "duckdb (per-thread files)": []}
    sizes = {}
    for r in range(args.repeats):
        for name in (list(runs) if r % 2 == 0 else list(reversed(runs))):
            out = os.path.join(args.scratch, name.split()[0] + str(len(name)))
            if name == "data-gen":
                t, size = data_gen_run(args.data_gen, args.rows, args.files, args.threads,
                                       args.compression, out)
            else:
                t, size = duckdb_run(args.rows, args.threads, args.compression,
                                     args.row_group_rows, out, "per-thread" in name)
            runs[name].append(t)
            sizes[name] = size
            print(f"run {r + 1}: {name}: {t:.2f} s", file=sys.stderr)
    shutil.rmtree(args.scratch, ignore_errors=True)

    print(f"rows {args.rows}, threads {args.threads}, {args.compression}, "
          f"duckdb {duckdb.__version__}, median of {args.repeats}")
    print(f"{'writer':<28} {'seconds':>8} {'M rows/s':>9} {'MiB':>8}")
    med = {k: statistics.median(v) for k, v in runs.items()}
    for name, t in med.items():
        print(f"{name:<28} {t:>8.2f} {args.rows / t / 1e6:>9.2f} {sizes[name] / 2**20:>8.1f}")
    best_duck = min(med["duckdb (one file)"], med["duckdb (per-thread files)"])
    print(f"data-gen rows/s over the faster DuckDB: {best_duck / med['data-gen']:.1f}x")


if __name__ == "__main__":
    main()
