-- name: agg_latency_p99
-- category: aggregate
-- intent: exact percentile: p99 latency per endpoint (percentile_cont holds every value per group); exact so that every engine and partitioning gives the same answer
SELECT endpoint, percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99_latency_ms, COUNT(*) AS requests
FROM logs
GROUP BY endpoint
ORDER BY endpoint;
