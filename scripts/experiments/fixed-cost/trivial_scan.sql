-- name: trivial_scan
-- category: fixed-cost
-- intent: One tiny aggregate over the table: the per-query cost of a real scan plan with almost no rows moved.
SELECT MAX(status_code) AS top FROM logs WHERE status_code > 600;
