-- name: sort_large
-- category: sort
-- intent: a large sort returning many rows: two days of one region (about 1 % of the data) by latency
SELECT ts, user_id, endpoint, latency_ms
FROM logs
WHERE region = 'eu-west-1' AND ts < TIMESTAMP '2026-01-03 00:00:00+00:00'
ORDER BY latency_ms DESC, ts, user_id, endpoint;
