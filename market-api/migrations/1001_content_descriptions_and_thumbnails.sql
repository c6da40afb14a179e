-- A content's description and thumbnail, from its .ddrm header like the other facts. The
-- thumbnail is kept hex-encoded (one TEXT type on SQLite and PostgreSQL alike); it is read
-- only by GET /v1/contents/{id}/thumbnail, never by the catalogue's pages.
--
-- Every fact is derivable from its content's header, so the rows recorded before these
-- columns existed are dropped: the header backfill reads them again, complete.
DELETE FROM api_content_meta;
ALTER TABLE api_content_meta ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE api_content_meta ADD COLUMN thumbnail_type TEXT;
ALTER TABLE api_content_meta ADD COLUMN thumbnail_hex TEXT;
