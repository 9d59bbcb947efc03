-- name: filter_one_day
-- category: filter
-- intent: selective time range (one day of thirty): row-group statistics on ts prune most files
-- instr-runs: 9
SELECT COUNT(*) AS requests, SUM(bytes_sent) AS bytes, MAX(latency_ms) AS max_latency_ms
FROM logs
WHERE ts >= TIMESTAMP '2026-01-15 00:00:00+00:00' AND ts < TIMESTAMP '2026-01-16 00:00:00+00:00';
