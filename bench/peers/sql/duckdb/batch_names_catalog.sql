-- Does the batch (b_new) change statuses or users: a status or user event,
-- or a status its org has not named before? (Peer.apply_batch)
SELECT count(*) FROM b_new b
WHERE b.type IN ('status.upserted', 'status.deleted', 'user.upserted')
   OR (b.status_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.org_id = b.org_id AND s.status_id = b.status_id));
