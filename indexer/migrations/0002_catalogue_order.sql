-- The catalogue's order (newest registrations first, keyset pages on (registered_block,
-- content_id)): read from this index instead of sorting every content per page.
CREATE INDEX contents_registered ON contents (registered_block, content_id);
