-- name: sort_top_latency
-- category: sort
-- intent: top-k: the 100 slowest requests, ties broken by time, user and endpoint
-- instr-runs: 9
-- instr-threshold: 0.7 %
SELECT ts, user_id, endpoint, status_code, latency_ms
FROM logs
ORDER BY latency_ms DESC, ts, user_id, endpoint
LIMIT 100;
