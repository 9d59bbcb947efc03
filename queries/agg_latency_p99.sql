-- name: agg_latency_p99
-- category: aggregate
-- intent: approximate percentile: p99 latency per endpoint (t-digest), rounded to whole milliseconds
SELECT endpoint, ROUND(approx_percentile_cont(latency_ms, 0.99)) AS p99_latency_ms, COUNT(*) AS requests
FROM logs
GROUP BY endpoint
ORDER BY endpoint;
