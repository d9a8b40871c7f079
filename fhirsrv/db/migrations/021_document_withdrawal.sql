-- Document withdrawal (fhirsrv.documents.withdraw): ``DELETE Bundle/{id}`` of an ingested
-- document sent in error (wrong patient, wrong content) marks its registry row withdrawn.
-- A withdrawn document is never current again, whatever ``superseded_by`` says: its resources
-- stop being current unless another current document holds them, and its Bundle.identifier
-- stays taken (a repost of it is refused; a corrected document needs a new identifier).
-- Numbered 021 to follow the terminology migration already applied in existing databases.
ALTER TABLE document ADD COLUMN withdrawn_at timestamptz;

-- The current document of a source: neither superseded nor withdrawn.
DROP INDEX document_current_source;
CREATE INDEX document_current_source ON document (patient_id, source_key)
    WHERE superseded_by IS NULL AND withdrawn_at IS NULL;
