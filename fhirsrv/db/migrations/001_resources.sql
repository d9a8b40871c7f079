-- Every version of every resource. The current version of (rtype, id) is the single row with
-- current = true (a partial unique index makes that a one-row indexed read). ``rid`` is the
-- stable surrogate key of the logical resource (the same for all its versions): search index
-- tables refer to it. ``body`` is the exact JSON text the server returns (lossless: the
-- client's key order and decimal text, with server-owned id/meta); NULL for a delete marker.
-- ``patient_id`` is the Patient compartment owner (the Patient's own id for a Patient).
CREATE SEQUENCE resource_rid_seq AS bigint;

CREATE TABLE resource (
    rtype        text        NOT NULL,
    id           text        NOT NULL,
    version      integer     NOT NULL,
    rid          bigint      NOT NULL,
    current      boolean     NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    last_updated timestamptz NOT NULL,
    method       text        NOT NULL,
    patient_id   text,
    body         json,
    PRIMARY KEY (rtype, id, version),
    CHECK (deleted = (body IS NULL))
);

CREATE UNIQUE INDEX resource_current_key ON resource (rtype, id) WHERE current;
CREATE UNIQUE INDEX resource_current_rid ON resource (rid) WHERE current;
CREATE INDEX resource_live_by_type ON resource (rtype, last_updated, rid) WHERE current AND NOT deleted;
CREATE INDEX resource_history_time ON resource (last_updated);
CREATE INDEX resource_history_type_time ON resource (rtype, last_updated);
CREATE INDEX resource_patient ON resource (patient_id) WHERE current AND patient_id IS NOT NULL;
