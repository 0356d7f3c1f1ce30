-- Every rollup row is updated many times while its window is open, never in its key columns. Leaving
-- 30% of each page free lets PostgreSQL keep those updates on the same page without touching the three
-- indexes (heap-only tuple updates), which is most of the database's work per event. Pages written before
-- this migration keep their old fill until rewritten (VACUUM FULL or CLUSTER); new windows get the free space.
ALTER TABLE usage_rollups SET (fillfactor = 70);
