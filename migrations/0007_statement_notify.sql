-- The mediax_tokens notification, sent once per changed row as before (same channel, same JSON
-- payload), but from statement-level triggers: a batched refresh rewrites many token rows in one
-- statement, and a row-level plpgsql trigger ran its function and its apps lookup once per row
-- (bench/RESULTS.md, catch-up). One set-based pass per statement over the transition tables now.
-- A table's transition tables cannot be shared by a trigger on several events: one trigger each.
DROP TRIGGER tokens_notify ON mediax.tokens;
DROP FUNCTION mediax.notify_token_change();

CREATE FUNCTION mediax.notify_token_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_by text := current_setting('application_name', true);
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('mediax_tokens', json_build_object(
      'op', 'delete', 'app_id', r.app_id, 'grant_id', r.grant_id, 'app_name', a.name,
      'expires_at', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      -- The writer's application_name: an instance ignores what it wrote itself.
      'by', v_by)::text)
    FROM old_rows r LEFT JOIN mediax.apps a ON a.id = r.app_id;
  ELSE
    PERFORM pg_notify('mediax_tokens', json_build_object(
      'op', lower(TG_OP), 'app_id', r.app_id, 'grant_id', r.grant_id, 'app_name', a.name,
      'expires_at', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'by', v_by)::text)
    FROM new_rows r LEFT JOIN mediax.apps a ON a.id = r.app_id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER tokens_notify_insert
  AFTER INSERT ON mediax.tokens REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION mediax.notify_token_rows();
CREATE TRIGGER tokens_notify_update
  AFTER UPDATE ON mediax.tokens REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION mediax.notify_token_rows();
CREATE TRIGGER tokens_notify_delete
  AFTER DELETE ON mediax.tokens REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION mediax.notify_token_rows();
