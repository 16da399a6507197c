-- Every table of the session's database (dropped before a load).
SELECT name FROM system.tables WHERE database = currentDatabase();
