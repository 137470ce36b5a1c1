"""Merging and splitting conversations, and email threads that repair themselves.

`conversation.merged_into` points a merged (closed) conversation at the one that took its
messages: ingest, the API and the inbox follow it. `conversation_merge` records exactly what a
merge moved (message ids per source, the sources' state before) so that an undo within 30 days
puts the same rows back. The partial GIN index finds, when a mail arrives, the stored messages
that opened a conversation of their own while naming its Message-ID in In-Reply-To / References
(their parent had not arrived yet): those conversations are merged into the parent's.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation merge and split, thread repair index"

STATEMENTS = [
    "ALTER TABLE conversation ADD COLUMN merged_into integer REFERENCES conversation (id)"
    " ON DELETE SET NULL",
    "CREATE INDEX conversation_merged_into_idx ON conversation (merged_into)"
    " WHERE merged_into IS NOT NULL",
    """CREATE TABLE conversation_merge (
        id bigserial PRIMARY KEY,
        target integer NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        sources integer[] NOT NULL,
        -- {"<source id>": [message ids]}: what moved, for the undo
        moved jsonb NOT NULL DEFAULT '{}'::jsonb,
        -- {"<source id>": {status, resolved_at, ...}} and the tags the target gained
        before jsonb NOT NULL DEFAULT '{}'::jsonb,
        tags_added integer[] NOT NULL DEFAULT '{}',
        reason text NOT NULL DEFAULT '',
        auto boolean NOT NULL DEFAULT false,
        agent integer REFERENCES agent (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        undone_at timestamptz,
        undone_by integer REFERENCES agent (id) ON DELETE SET NULL)""",
    "CREATE INDEX conversation_merge_target_idx ON conversation_merge (target, id DESC)",
    "CREATE INDEX conversation_merge_sources_idx ON conversation_merge USING gin (sources)",
    # Only messages that opened their conversation because none of the ids they name was known.
    "CREATE INDEX message_thread_refs_idx ON message USING gin"
    " ((coalesce(meta->'thread'->'in_reply_to', '[]'::jsonb)"
    " || coalesce(meta->'thread'->'references', '[]'::jsonb)))"
    " WHERE meta->'thread'->'new_conversation' = 'true'::jsonb",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
