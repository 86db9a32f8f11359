-- The records service's schema (issue 17): profiles, care relationships, record metadata and the
-- append-only audit trail. Run by the migration step as the master user; the service role gets
-- what 0001's default privileges give (SELECT, INSERT, UPDATE), narrowed per table below.
-- Identifiers are Cognito subjects (UUIDs): no e-mail or name is a key anywhere.

CREATE TABLE phi.profiles (
    subject uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('patient', 'clinician')),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Who may see whose records. Maintained by the clinic's onboarding (the master user or a later
-- admin role), never by the service: the service role may only read it.
CREATE TABLE phi.care_relationships (
    clinician uuid NOT NULL REFERENCES phi.profiles (subject),
    patient uuid NOT NULL REFERENCES phi.profiles (subject),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinician, patient)
);
CREATE INDEX care_relationships_patient ON phi.care_relationships (patient);
REVOKE INSERT, UPDATE ON phi.care_relationships FROM medivault_service;

-- Record metadata. The object lives in S3 under records/<id> (no name or patient id in the key).
CREATE TABLE phi.records (
    id uuid PRIMARY KEY,
    patient uuid NOT NULL REFERENCES phi.profiles (subject),
    created_by uuid NOT NULL REFERENCES phi.profiles (subject),
    kind text NOT NULL CHECK (kind IN ('document', 'imaging')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    content_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes > 0),
    sha256 text,  -- base64 SHA-256 of the object (single-part uploads; S3 checks it on PUT)
    bucket text NOT NULL,
    object_key text NOT NULL UNIQUE CHECK (object_key = 'records/' || id::text),
    upload_id text,  -- multipart uploads
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'available')),
    version_id text,
    lock_mode text,
    lock_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz
);
CREATE INDEX records_patient_created ON phi.records (patient, created_at DESC);

-- The audit trail: one row per read, create, confirm and download-URL issue. Append-only for the
-- service role (INSERT and SELECT; UPDATE, DELETE and TRUNCATE are not granted), and for every
-- other role too: a trigger refuses UPDATE and DELETE whoever runs them (TRUNCATE is refused by a
-- statement trigger). Retention is a later migration's job (partitions dropped by the master).
CREATE TABLE phi.audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor uuid NOT NULL,
    actor_group text NOT NULL CHECK (actor_group IN ('patient', 'clinician')),
    action text NOT NULL,
    record_id uuid,
    patient uuid,
    source_ip inet,
    request_id text NOT NULL,
    trace_id text
);
CREATE INDEX audit_events_record ON phi.audit_events (record_id, at);
CREATE INDEX audit_events_patient ON phi.audit_events (patient, at);
REVOKE ALL ON phi.audit_events FROM medivault_service;
GRANT SELECT, INSERT ON phi.audit_events TO medivault_service;

CREATE FUNCTION phi.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'phi.audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION phi.refuse_audit_change() FROM PUBLIC;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON phi.audit_events
    FOR EACH ROW EXECUTE FUNCTION phi.refuse_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON phi.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION phi.refuse_audit_change();

-- The service never deletes metadata either (records are retained; S3 Object Lock keeps the bytes).
REVOKE DELETE, TRUNCATE ON phi.records, phi.profiles, phi.care_relationships FROM medivault_service;
