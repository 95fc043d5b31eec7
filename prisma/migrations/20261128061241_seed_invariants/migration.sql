-- Invariants that the Prisma schema language cannot express (hand-written; keep in sync with
-- docs/MIGRATIONS.md). Applied by `prisma migrate deploy` like any other migration.

-- (a) At most one `active` seed per keyring (NIST SP 800-57: a single key is active for
--     protection at a time). Partial unique index: other states may repeat freely.
CREATE UNIQUE INDEX "seeds_one_active_per_keyring" ON "seeds" ("keyring") WHERE "state" = 'active';

-- (b) seed_events is an append-only audit log: rows can be inserted, never changed or removed.
CREATE FUNCTION "seed_events_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'seed_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation',
          HINT = 'Record a new event instead of changing or removing an existing one.';
END;
$$;

CREATE TRIGGER "seed_events_no_update_delete"
  BEFORE UPDATE OR DELETE ON "seed_events"
  FOR EACH ROW EXECUTE FUNCTION "seed_events_append_only"();

-- TRUNCATE bypasses row-level triggers, so it is rejected by a statement-level trigger.
CREATE TRIGGER "seed_events_no_truncate"
  BEFORE TRUNCATE ON "seed_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "seed_events_append_only"();
