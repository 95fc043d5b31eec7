-- CreateEnum
CREATE TYPE "SeedState" AS ENUM ('pre_active', 'active', 'suspended', 'deactivated', 'compromised', 'destroyed');

-- CreateTable
CREATE TABLE "keyrings" (
    "name" TEXT NOT NULL,
    "next_version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "keyrings_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "seed_requests" (
    "id" UUID NOT NULL,
    "keyring" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "seed_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "seeds" (
    "id" UUID NOT NULL,
    "keyring" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "state" "SeedState" NOT NULL,
    "hsm_label" TEXT NOT NULL,
    "kcv" TEXT NOT NULL,
    "state_reason" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMP(3),
    "deactivated_at" TIMESTAMP(3),
    "destroyed_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "seeds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "seed_events" (
    "id" BIGSERIAL NOT NULL,
    "seed_id" UUID NOT NULL,
    "keyring" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "dedupe_key" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "seed_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "seed_requests_workflow_id_key" ON "seed_requests"("workflow_id");

-- CreateIndex
CREATE UNIQUE INDEX "seed_requests_keyring_version_key" ON "seed_requests"("keyring", "version");

-- CreateIndex
CREATE UNIQUE INDEX "seed_requests_keyring_idempotency_key_key" ON "seed_requests"("keyring", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "seeds_hsm_label_key" ON "seeds"("hsm_label");

-- CreateIndex
CREATE INDEX "seeds_keyring_state_idx" ON "seeds"("keyring", "state");

-- CreateIndex
CREATE UNIQUE INDEX "seeds_keyring_version_key" ON "seeds"("keyring", "version");

-- CreateIndex
CREATE UNIQUE INDEX "seed_events_dedupe_key_key" ON "seed_events"("dedupe_key");

-- CreateIndex
CREATE INDEX "seed_events_seed_id_id_idx" ON "seed_events"("seed_id", "id");

-- AddForeignKey
ALTER TABLE "seed_requests" ADD CONSTRAINT "seed_requests_keyring_fkey" FOREIGN KEY ("keyring") REFERENCES "keyrings"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "seeds" ADD CONSTRAINT "seeds_keyring_fkey" FOREIGN KEY ("keyring") REFERENCES "keyrings"("name") ON DELETE RESTRICT ON UPDATE CASCADE;
