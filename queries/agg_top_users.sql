-- name: agg_top_users
-- category: aggregate
-- intent: high-cardinality GROUP BY over ~10M user ids, keeping the 1,000 busiest
-- instr-runs: 9
SELECT user_id, COUNT(*) AS requests, SUM(bytes_sent) AS bytes
FROM logs
GROUP BY user_id
ORDER BY requests DESC, user_id
LIMIT 1000;
