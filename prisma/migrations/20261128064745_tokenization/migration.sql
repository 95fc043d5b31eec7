-- CreateEnum
CREATE TYPE "TokenMode" AS ENUM ('deterministic', 'random');

-- AlterTable
ALTER TABLE "keyrings" ADD COLUMN     "mode" "TokenMode";

-- CreateTable
CREATE TABLE "tokens" (
    "id" BIGSERIAL NOT NULL,
    "token" TEXT NOT NULL,
    "keyring" TEXT NOT NULL,
    "seed_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "field" TEXT NOT NULL,
    "fingerprint" TEXT,
    "sealed_value" BYTEA,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "erased_at" TIMESTAMP(3),

    CONSTRAINT "tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "key_hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "keyrings" TEXT[],
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "access_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "keyring" TEXT,
    "token" TEXT,
    "purpose" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "access_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_jobs" (
    "id" UUID NOT NULL,
    "keyring" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "fields" TEXT[],
    "state" TEXT NOT NULL,
    "input_path" TEXT NOT NULL,
    "output_path" TEXT,
    "input_bytes" BIGINT NOT NULL,
    "total_rows" INTEGER NOT NULL,
    "rows_done" INTEGER NOT NULL DEFAULT 0,
    "rows_failed" INTEGER NOT NULL DEFAULT 0,
    "chunk_rows" INTEGER NOT NULL,
    "idempotency_key" TEXT,
    "created_by" TEXT NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "completed_at" TIMESTAMP(3),

    CONSTRAINT "dataset_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_job_chunks" (
    "job_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "rows" INTEGER NOT NULL,
    "rows_failed" INTEGER NOT NULL,
    "completed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dataset_job_chunks_pkey" PRIMARY KEY ("job_id","index")
);

-- CreateIndex
CREATE UNIQUE INDEX "tokens_token_key" ON "tokens"("token");

-- CreateIndex
CREATE INDEX "tokens_seed_id_idx" ON "tokens"("seed_id");

-- CreateIndex
CREATE UNIQUE INDEX "tokens_keyring_version_fingerprint_key" ON "tokens"("keyring", "version", "fingerprint");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "access_events_keyring_at_idx" ON "access_events"("keyring", "at");

-- CreateIndex
CREATE INDEX "access_events_action_at_idx" ON "access_events"("action", "at");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_jobs_workflow_id_key" ON "dataset_jobs"("workflow_id");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_jobs_keyring_idempotency_key_key" ON "dataset_jobs"("keyring", "idempotency_key");

-- AddForeignKey
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_keyring_fkey" FOREIGN KEY ("keyring") REFERENCES "keyrings"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_seed_id_fkey" FOREIGN KEY ("seed_id") REFERENCES "seeds"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_jobs" ADD CONSTRAINT "dataset_jobs_keyring_fkey" FOREIGN KEY ("keyring") REFERENCES "keyrings"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_job_chunks" ADD CONSTRAINT "dataset_job_chunks_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "dataset_jobs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- Hand-written (Prisma cannot express it): access_events is an append-only audit log,
-- like seed_events (see 20261128061241_seed_invariants), with a guard that names its table.
CREATE FUNCTION "append_only_guard"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation',
          HINT = 'Record a new event instead of changing or removing an existing one.';
END;
$$;
CREATE TRIGGER "access_events_no_update_delete"
  BEFORE UPDATE OR DELETE ON "access_events"
  FOR EACH ROW EXECUTE FUNCTION "append_only_guard"();
CREATE TRIGGER "access_events_no_truncate"
  BEFORE TRUNCATE ON "access_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "append_only_guard"();

