-- name: agg_hourly_region
-- category: aggregate
-- intent: time buckets: requests and mean latency per hour and region (720 x 10 groups)
-- instr-threshold: 0.8 %
SELECT date_trunc('hour', ts) AS hour, region, COUNT(*) AS requests, AVG(latency_ms) AS avg_latency_ms
FROM logs
GROUP BY date_trunc('hour', ts), region
ORDER BY hour, region;
