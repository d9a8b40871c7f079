-- Search index: one table per search parameter type, rows keyed by the resource's ``rid``.
-- Rows exist only for the current, non-deleted version (fhirsrv.store.indexer writes them in
-- the same transaction as the resource). Every row carries ``rtype`` and ``param`` so that
-- the value indexes lead with (rtype, param, value): a search is one index range scan.
-- ``grp`` numbers the element instance of a composite parameter (0 for plain rows).
-- Text that is searched by prefix uses COLLATE "C" so that ``LIKE 'abc%'`` uses the btree
-- whatever the database's default collation is.

CREATE TABLE idx_string (
    rid    bigint   NOT NULL,
    rtype  text     NOT NULL,
    param  text     NOT NULL,
    norm   text     COLLATE "C" NOT NULL,   -- case-folded, accents removed
    exact  text     NOT NULL,               -- as written, for :exact
    grp    smallint NOT NULL DEFAULT 0
);
CREATE INDEX idx_string_value ON idx_string (rtype, param, norm);
CREATE INDEX idx_string_rid ON idx_string (rid);

CREATE TABLE idx_token (
    rid    bigint   NOT NULL,
    rtype  text     NOT NULL,
    param  text     NOT NULL,
    system text,
    code   text,
    text   text     COLLATE "C",            -- normalised display / CodeableConcept.text, for :text
    grp    smallint NOT NULL DEFAULT 0
);
CREATE INDEX idx_token_value ON idx_token (rtype, param, code, system);
CREATE INDEX idx_token_rid ON idx_token (rid);

CREATE TABLE idx_date (
    rid    bigint      NOT NULL,
    rtype  text        NOT NULL,
    param  text        NOT NULL,
    low    timestamptz NOT NULL,            -- inclusive
    high   timestamptz NOT NULL,            -- exclusive
    grp    smallint    NOT NULL DEFAULT 0
);
CREATE INDEX idx_date_low ON idx_date (rtype, param, low);
CREATE INDEX idx_date_high ON idx_date (rtype, param, high);
CREATE INDEX idx_date_rid ON idx_date (rid);

-- number and quantity parameters; a Range is [low, high], a plain value has low = high.
CREATE TABLE idx_quantity (
    rid    bigint   NOT NULL,
    rtype  text     NOT NULL,
    param  text     NOT NULL,
    low    numeric  NOT NULL,
    high   numeric  NOT NULL,
    system text,
    code   text,
    unit   text,
    grp    smallint NOT NULL DEFAULT 0
);
CREATE INDEX idx_quantity_value ON idx_quantity (rtype, param, low);
CREATE INDEX idx_quantity_rid ON idx_quantity (rid);

CREATE TABLE idx_reference (
    rid         bigint   NOT NULL,
    rtype       text     NOT NULL,
    param       text     NOT NULL,
    target_type text,                       -- relative reference Type/id
    target_id   text,
    url         text,                       -- absolute or canonical URL (version stripped)
    grp         smallint NOT NULL DEFAULT 0
);
CREATE INDEX idx_reference_target ON idx_reference (rtype, param, target_id, target_type);
CREATE INDEX idx_reference_url ON idx_reference (rtype, param, url) WHERE url IS NOT NULL;
CREATE INDEX idx_reference_rid ON idx_reference (rid);

CREATE TABLE idx_uri (
    rid    bigint   NOT NULL,
    rtype  text     NOT NULL,
    param  text     NOT NULL,
    uri    text     COLLATE "C" NOT NULL,
    grp    smallint NOT NULL DEFAULT 0
);
CREATE INDEX idx_uri_value ON idx_uri (rtype, param, uri);
CREATE INDEX idx_uri_rid ON idx_uri (rid);

-- The default search order is insertion order (rid): stable for paging, cheap to read.
CREATE INDEX resource_live_type_rid ON resource (rtype, rid) WHERE current AND NOT deleted;

-- :contains on strings uses trigrams where the pg_trgm extension is available (it ships
-- with the embedded Postgres); without it :contains still works, by scanning.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX idx_string_trgm ON idx_string USING gin (norm gin_trgm_ops);
    END IF;
END
$$;
