-- The type of a content's clear preview, from its .ddrm header like the other facts (the
-- preview's bytes stay in the header, read from the content store when asked for). Rows
-- recorded before the column existed are dropped: the header backfill reads them again.
DELETE FROM api_content_meta;
ALTER TABLE api_content_meta ADD COLUMN preview_type TEXT;
