-- name: agg_distinct_users
-- category: aggregate
-- intent: exact distinct count of users per region
-- instr-runs: 5
SELECT region, COUNT(DISTINCT user_id) AS users
FROM logs
GROUP BY region
ORDER BY region;
