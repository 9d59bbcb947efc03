-- name: agg_latency_p99
-- category: aggregate
-- intent: exact percentile: p99 latency per endpoint (percentile_cont holds every value per group); exact so that every engine and partitioning gives the same answer
-- tolerance: p99_latency_ms 1e-5 DataFusion 55's percentile_cont truncates its interpolation weight to 6 decimals (apache/datafusion#25266, fix in PR #25275); DuckDB interpolates with the full fraction
SELECT endpoint, percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99_latency_ms, COUNT(*) AS requests
FROM logs
GROUP BY endpoint
ORDER BY endpoint;
