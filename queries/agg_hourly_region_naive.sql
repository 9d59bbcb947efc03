-- name: agg_hourly_region_naive
-- category: aggregate
-- intent: agg_hourly_region's answer without date_trunc's per-value time-zone path (apache/datafusion#25325): the timestamps are UTC, so truncating them as timestamps without a zone gives the same hours
SELECT date_trunc('hour', CAST(ts AS TIMESTAMP)) AS hour, region, COUNT(*) AS requests, AVG(latency_ms) AS avg_latency_ms
FROM logs
GROUP BY date_trunc('hour', CAST(ts AS TIMESTAMP)), region
ORDER BY hour, region;
