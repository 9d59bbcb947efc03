-- name: sort_top_latency
-- category: sort
-- intent: top-k: the 100 slowest requests, ties broken by time, user and endpoint
-- instr-threshold: 1.2 %
SELECT ts, user_id, endpoint, status_code, latency_ms
FROM logs
ORDER BY latency_ms DESC, ts, user_id, endpoint
LIMIT 100;
