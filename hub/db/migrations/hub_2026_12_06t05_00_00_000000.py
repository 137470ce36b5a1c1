"""Routing: where a conversation's requirements come from besides the API.

`inbox.requirements` are skills every new conversation of the inbox needs; a BEFORE INSERT
trigger copies them, so every way a conversation is born (ingest's hub_ingest_one, a split,
demo data) gets them without each writer knowing, and the routing round that the
`conversation.created` event starts already sees them. `tag_requirement` maps a tag to skills
(the routing settings); `conversation.tag_requirements` remembers which of a conversation's
requirements a tag brought, so removing the tag removes those and never one that was set
explicitly or came from the inbox.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-06T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routing: requirements from the inbox and from tags"

STATEMENTS = [
    "ALTER TABLE inbox ADD COLUMN requirements text[] NOT NULL DEFAULT '{}'",
    "ALTER TABLE conversation ADD COLUMN tag_requirements text[] NOT NULL DEFAULT '{}'",
    """CREATE TABLE tag_requirement (
        tag text PRIMARY KEY,
        skills text[] NOT NULL CHECK (cardinality(skills) > 0),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE OR REPLACE FUNCTION hub_inbox_requirements() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    v_defaults text[];
BEGIN
    SELECT requirements INTO v_defaults FROM inbox WHERE id = NEW.inbox;
    IF v_defaults IS NOT NULL AND v_defaults <> '{}' THEN
        NEW.requirements := array(
            SELECT DISTINCT s FROM unnest(NEW.requirements || v_defaults) s ORDER BY s);
    END IF;
    RETURN NEW;
END
$fn$""",
    """CREATE TRIGGER conversation_inbox_requirements BEFORE INSERT ON conversation
        FOR EACH ROW EXECUTE FUNCTION hub_inbox_requirements()""",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
