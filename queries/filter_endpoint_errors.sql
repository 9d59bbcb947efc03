-- name: filter_endpoint_errors
-- category: filter
-- intent: selective string predicate: server errors of one export endpoint, per region
SELECT region, COUNT(*) AS errors, AVG(latency_ms) AS avg_latency_ms
FROM logs
WHERE endpoint = '/api/v1/reports/export' AND status_code >= 500
GROUP BY region
ORDER BY region;
