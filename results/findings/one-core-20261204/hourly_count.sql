-- name: hourly_count
-- category: aggregate
-- intent: the smallest query that shows the order-preserving repartition: one count per hour
SELECT date_trunc('hour', ts) AS hour, COUNT(*) AS requests
FROM logs
GROUP BY date_trunc('hour', ts)
