-- Overall report, ended: the current status of every live lead (its
-- transition that is valid until 'infinity'). Index-only scan on
-- transitions_org_valid_to.
SELECT to_status, count(*) FROM transitions
WHERE org_id = %(org)s AND valid_to = 'infinity' /*UNIVERSE*/
GROUP BY to_status;
