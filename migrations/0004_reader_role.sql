-- mediax_reader: the role other programs use to read tokens. It may SELECT mediax.access_tokens
-- (and LISTEN on mediax_tokens) and nothing else: no secret-holding table, no function, no writes.
-- Give it to an app's login role with `GRANT mediax_reader TO app_login;` (README: "Reading tokens
-- from another app (SQL)").
--
-- Roles are cluster-wide: several mediax databases on one cluster share the role, and it may exist
-- already (made by another database's migration or by a superuser beforehand). Creating it needs
-- CREATEROLE; a migrating role without it gets an error that says what to run once as a superuser.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mediax_reader') THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
      RAISE EXCEPTION 'role mediax_reader does not exist and % may not create roles', current_user
        USING HINT = 'run "CREATE ROLE mediax_reader NOLOGIN;" once as a superuser, then "mediaxd migrate" again';
    END IF;
    BEGIN
      CREATE ROLE mediax_reader NOLOGIN;
    EXCEPTION
      -- Another database's migration created it at the same moment.
      WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END
$$;

-- Nothing but the view. Tables, sequences and functions of later migrations get no grant to the
-- reader either: PUBLIC has no default rights on tables or sequences, and functions lose theirs below.
REVOKE ALL ON ALL TABLES IN SCHEMA mediax FROM mediax_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA mediax FROM mediax_reader;
GRANT USAGE ON SCHEMA mediax TO mediax_reader;
GRANT SELECT ON mediax.access_tokens TO mediax_reader;

-- The view runs with its owner's rights on mediax.tokens, apps and grants (PostgreSQL's default; a
-- view made with security_invoker = true would need the reader to read those tables): SELECT on
-- it alone is enough.

-- PostgreSQL lets PUBLIC execute every new function. Functions in mediax run with their owner's
-- rights when SECURITY DEFINER and may read secrets: only the owner may call them, now and later.
-- (Default privileges cannot be revoked per schema, so this covers the migrating role's functions
-- in this database.)
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA mediax FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
