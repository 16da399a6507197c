-- Does the batch (b_new) change statuses or users: a status or user event,
-- or a status its org has not named before? (Peer.apply_batch)
SELECT count() FROM b_new
WHERE type IN ('status.upserted', 'status.deleted', 'user.upserted')
   OR (status_id IS NOT NULL AND (org_id, assumeNotNull(status_id)) NOT IN (SELECT org_id, status_id FROM statuses));
