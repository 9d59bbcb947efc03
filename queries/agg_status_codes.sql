-- name: agg_status_codes
-- category: aggregate
-- intent: low-cardinality GROUP BY: requests and mean latency per HTTP status
SELECT status_code, COUNT(*) AS requests, AVG(latency_ms) AS avg_latency_ms
FROM logs
GROUP BY status_code
ORDER BY status_code;
