-- Security: client-assertion ids already used at the token endpoint (SMART Backend Services).
-- A private_key_jwt assertion may be presented once: its (client_id, jti) is recorded until the
-- assertion expires (at most 5 minutes ahead), and a second presentation is refused. Rows past
-- ``expires_at`` are useless and purged by the token endpoint itself.
CREATE TABLE security_seen_jti (
    client_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX security_seen_jti_expiry ON security_seen_jti (expires_at);

-- The access facts of one patient (informed consent, exclusions: Consent; therapeutic
-- relationships: CareTeam) are read on every access decision. A partial index holding only
-- those rows keeps that lookup small however many other resources the patient has.
CREATE INDEX resource_access_facts ON resource (patient_id, rtype)
    WHERE current AND NOT deleted AND rtype IN ('Consent', 'CareTeam');
