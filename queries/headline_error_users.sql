-- name: headline_error_users
-- category: headline
-- intent: the reference deployment's query: users hitting server errors most, with their mean latency
SELECT user_id, COUNT(*) AS requests, AVG(latency_ms) AS avg_latency_ms
FROM logs
WHERE status_code >= 500
GROUP BY user_id
HAVING COUNT(*) > 5
ORDER BY requests DESC, user_id
LIMIT 100;
