"""Search on a stored tsvector, phrase and prefix queries, and the indexes of the slow list views.

- `message.search` is a generated column (`to_tsvector('simple', text)`, positions kept for
  phrase search), so the ingest's INSERTs are unchanged and the search no longer recomputes a
  tsvector per message it looks at. Piccolo cannot declare a generated column, so the `Message`
  table class leaves it out; every INSERT lists its columns.
- One GIN index on `(inbox, search)` (btree_gin) replaces the expression index: a search by an
  agent restricted to a few inboxes intersects the inbox and word posting lists inside the index,
  so a word common overall but absent from those inboxes costs nothing; a search without the
  restriction uses the `search` column alone. Where btree_gin is not available (the embedded
  PostgreSQL of the zero-config default) the index is on `search` alone.
- The statistics target of 1,000 moves from the old index to the column: with the default,
  rare words are estimated at thousands of rows.
- `hub_search_query` builds the tsquery from the parsed search (hub.conversations.search): plain
  words, "quoted phrases" and word* prefixes, each parsed by PostgreSQL's own 'simple' parser.
- `conversation_subject_inbox_idx` finds, in one probe, whether an inbox has any conversation
  with a subject (chat inboxes never have one).
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-06T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stored tsvector search, phrase and prefix queries, subject-per-inbox index"

STATEMENTS = [
    "ALTER TABLE message ADD COLUMN search tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED",
    # btree_gin ships with PostgreSQL's contrib modules (Debian's postgresql package, the official
    # images), not with the embedded server of the zero-config default: there the index is on the
    # words alone, and a restricted agent's search filters by inbox after the index (slower on a
    # large desk, the same answers).
    """DO $$
    BEGIN
        IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin') THEN
            CREATE EXTENSION IF NOT EXISTS btree_gin;
            CREATE INDEX message_search_idx ON message USING gin (inbox, search);
        ELSE
            CREATE INDEX message_search_idx ON message USING gin (search);
        END IF;
    END $$""",
    "DROP INDEX IF EXISTS message_fts_idx",
    "ALTER TABLE message ALTER COLUMN search SET STATISTICS 1000",
    "CREATE INDEX conversation_subject_inbox_idx ON conversation (inbox) WHERE subject <> ''",
    # A prefix term: the lexemes PostgreSQL's parser makes of the word, the last one as a prefix.
    """CREATE FUNCTION hub_search_prefix(word text) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE q tsquery := plainto_tsquery('simple', word);
    BEGIN
        IF numnode(q) = 0 THEN RETURN q; END IF;
        RETURN (q::text || ':*')::tsquery;
    END $$""",
    # words: plain words (all must occur); phrases: each one's words in order, adjacent;
    # prefixes: words that may continue. Everything is ANDed.
    """CREATE FUNCTION hub_search_query(words text, phrases text[], prefixes text[])
    RETURNS tsquery LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE q tsquery; p text;
    BEGIN
        -- Starting from NULL rather than an empty tsquery: an empty one raises a NOTICE per use.
        IF coalesce(words, '') <> '' THEN q := plainto_tsquery('simple', words); END IF;
        FOREACH p IN ARRAY coalesce(phrases, '{}') LOOP
            q := CASE WHEN q IS NULL THEN phraseto_tsquery('simple', p)
                      ELSE q && phraseto_tsquery('simple', p) END;
        END LOOP;
        FOREACH p IN ARRAY coalesce(prefixes, '{}') LOOP
            q := CASE WHEN q IS NULL THEN hub_search_prefix(p) ELSE q && hub_search_prefix(p) END;
        END LOOP;
        RETURN coalesce(q, plainto_tsquery('simple', ''));
    END $$""",
    "ANALYZE message",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
