-- name: filter_non_selective
-- category: filter
-- intent: non-selective predicate (about 90 % of rows pass): a scan-bound sum
SELECT COUNT(*) AS requests, SUM(bytes_sent) AS bytes
FROM logs
WHERE status_code < 400;
