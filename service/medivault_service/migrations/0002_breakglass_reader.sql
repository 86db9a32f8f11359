-- Break-glass reads: an incident responder who must look at PHI rows does so with a read-only
-- role, not with the master user (which can change everything and is for rotation and schema
-- changes). Logs in only with an IAM token (rds_iam); the IAM side (rds-db:connect on
-- dbuser:<cluster resource id>/medivault_breakglass_read) belongs to the break-glass permission
-- set alone. Every statement of the role is audited, whatever it is.
--   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medivault_breakglass_read') THEN
        CREATE ROLE medivault_breakglass_read LOGIN;
    END IF;
END
$$;
GRANT rds_iam TO medivault_breakglass_read;
ALTER ROLE medivault_breakglass_read SET pgaudit.log = 'all';
-- Read-only even if a session forgets itself.
ALTER ROLE medivault_breakglass_read SET default_transaction_read_only = 'on';
GRANT USAGE ON SCHEMA phi TO medivault_breakglass_read;
GRANT SELECT ON ALL TABLES IN SCHEMA phi TO medivault_breakglass_read;
ALTER DEFAULT PRIVILEGES IN SCHEMA phi GRANT SELECT ON TABLES TO medivault_breakglass_read;
