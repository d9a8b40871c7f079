-- Document registry (fhirsrv.documents): one row per ingested document Bundle, and the
-- resources each document contributed. Numbered 010 to stay clear of the search/bundle
-- migrations being written in parallel.
--
-- ``identifier_system``/``identifier_value`` is Bundle.identifier: unique, which makes ingest
-- idempotent even under concurrent posts. ``source_key`` names the custodian (the "same
-- source" of the supersession rule); ``superseded_by`` points at the newer document of the
-- same patient and source. A stored resource that appears in ``document_member`` is current
-- for its source only while at least one of its documents is not superseded.
CREATE TABLE document (
    bundle_id          text        PRIMARY KEY,
    identifier_system  text        NOT NULL,
    identifier_value   text        NOT NULL,
    patient_id         text        NOT NULL,
    source_key         text        NOT NULL,
    composition_id     text        NOT NULL,
    docref_id          text        NOT NULL,
    document_date      timestamptz NOT NULL,
    received_at        timestamptz NOT NULL,
    superseded_by      text        REFERENCES document (bundle_id),
    UNIQUE (identifier_system, identifier_value)
);
CREATE INDEX document_current_source ON document (patient_id, source_key) WHERE superseded_by IS NULL;

CREATE TABLE document_member (
    bundle_id  text NOT NULL REFERENCES document (bundle_id),
    rtype      text NOT NULL,
    id         text NOT NULL,
    PRIMARY KEY (bundle_id, rtype, id)
);
CREATE INDEX document_member_resource ON document_member (rtype, id);
