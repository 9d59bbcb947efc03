-- name: trivial_select
-- category: fixed-cost
-- intent: No data at all: what an engine costs per query before any work (Ballista: job submission, scheduling, one task, result fetch).
SELECT 1 AS one;
