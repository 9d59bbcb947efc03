-- name: window_latency_rank
-- category: window
-- intent: rank each request by latency within its endpoint (first day) and keep the top 3 per endpoint
SELECT endpoint, rnk, user_id, latency_ms
FROM (
    SELECT endpoint, user_id, latency_ms,
           RANK() OVER (PARTITION BY endpoint ORDER BY latency_ms DESC) AS rnk
    FROM logs
    WHERE ts < TIMESTAMP '2026-01-02 00:00:00+00:00'
) ranked
WHERE rnk <= 3
ORDER BY endpoint, rnk, user_id, latency_ms;
