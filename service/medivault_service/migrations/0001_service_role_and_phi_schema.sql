-- The service's least-privilege login role, the PHI schema it works in, and pgaudit for its reads
-- and writes. Run by the migration step as the Aurora master user (never by the service).
--
-- IAM database authentication for Aurora PostgreSQL: a login role granted rds_iam authenticates
-- only with IAM tokens, never with a password.
--   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html
-- pgaudit on Aurora PostgreSQL: the library is preloaded by the cluster parameter group
-- (constructs/audited_aurora.py, shared_preload_libraries), then the extension is created.
--   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pgaudit.basic-setup.html
--   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pgaudit.auditing.html

CREATE EXTENSION IF NOT EXISTS pgaudit;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medivault_service') THEN
        -- No password: it can log in only with an IAM token (rds_iam below). No CREATEDB,
        -- CREATEROLE, REPLICATION or BYPASSRLS (the defaults of CREATE ROLE).
        CREATE ROLE medivault_service LOGIN;
    END IF;
END
$$;
GRANT rds_iam TO medivault_service;
-- Every statement the service runs that reads or writes a table is written to the PostgreSQL log
-- (exported to the KMS-encrypted CloudWatch log group). pgaudit.log is a superuser-only setting:
-- the role cannot switch it off in its own session. Bound parameter values are not logged
-- (pgaudit.log_parameter = 0 in the cluster parameter group), so PHI values stay out of the log.
ALTER ROLE medivault_service SET pgaudit.log = 'read, write';

-- PHI lives in its own schema, owned by the migration (master) user. The service gets USAGE
-- only: it can neither create objects in the schema nor alter or drop those it finds there.
CREATE SCHEMA IF NOT EXISTS phi;
REVOKE ALL ON SCHEMA phi FROM PUBLIC;
GRANT USAGE ON SCHEMA phi TO medivault_service;
-- Tables and sequences later migrations create in phi: SELECT, INSERT, UPDATE for the service.
-- No DELETE, TRUNCATE, REFERENCES or TRIGGER: a migration that needs the service to delete rows
-- of one table grants DELETE on that table explicitly; an append-only table revokes UPDATE.
ALTER DEFAULT PRIVILEGES IN SCHEMA phi REVOKE ALL ON TABLES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA phi GRANT SELECT, INSERT, UPDATE ON TABLES TO medivault_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA phi GRANT USAGE, SELECT ON SEQUENCES TO medivault_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA phi REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
