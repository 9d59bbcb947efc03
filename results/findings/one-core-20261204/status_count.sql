-- name: status_count
-- category: aggregate
-- intent: the same shape grouped on a column the files are not sorted by (the control)
SELECT status_code, COUNT(*) AS requests
FROM logs
GROUP BY status_code
