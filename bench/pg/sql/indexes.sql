-- leadflow PostgreSQL baseline: keys and indexes, then VACUUM ANALYZE
-- (run by pgbase.py after derive.sql; VACUUM also sets the visibility map so
-- the covering indexes below answer with index-only scans).

-- step: pk_events
ALTER TABLE events ADD PRIMARY KEY (org_id, event_id);

-- step: pk_small
ALTER TABLE statuses ADD PRIMARY KEY (org_id, status_id);
ALTER TABLE users ADD PRIMARY KEY (org_id, user_id);

-- step: pk_leads
ALTER TABLE leads ADD PRIMARY KEY (lead_pk);
CREATE UNIQUE INDEX leads_org_lead ON leads (org_id, lead_id);

-- step: ix_leads
-- Leads Not Contacted's default order (CreatedOn, then ProspectID), owners,
-- and the one lead field the benchmark filters on (Source): exact for the
-- LeadSquared filter, case-insensitive for the Close query. ANALYZE keeps
-- statistics on index expressions, so the planner also knows how selective
-- the filter is (not for partial indexes: these two cover deleted leads too).
CREATE INDEX leads_org_created ON leads (org_id, created_at, lead_id) WHERE NOT deleted;
CREATE INDEX leads_org_owner ON leads (org_id, owner_id) WHERE NOT deleted;
CREATE INDEX leads_org_source ON leads (org_id, (fields->>'Source'));
CREATE INDEX leads_org_source_ci ON leads (org_id, lower(fields->>'Source'));

-- step: ix_transitions
-- Transitions in a window (entered, left, pairs) ...
CREATE INDEX transitions_org_at ON transitions (org_id, occurred_at) INCLUDE (lead_pk, from_status, to_status);
-- ... status at an instant T (valid_to >= T AND occurred_at < T) ...
CREATE INDEX transitions_org_valid_to ON transitions (org_id, valid_to) INCLUDE (occurred_at, lead_pk, to_status);
-- ... and one lead's history.
CREATE INDEX transitions_org_lead_at ON transitions (org_id, lead_pk, occurred_at);

-- step: ix_activities
CREATE INDEX activities_org_lead_at ON activities (org_id, lead_pk, occurred_at) INCLUDE (code);
CREATE INDEX activities_org_at ON activities (org_id, occurred_at) INCLUDE (lead_pk, code);
