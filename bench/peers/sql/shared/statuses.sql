-- The org's statuses in report order: position, then first appearance, then id.
SELECT status_id, label, deleted FROM statuses
WHERE org_id = $org
ORDER BY position IS NULL, coalesce(position, 0), first_seen, status_id;
