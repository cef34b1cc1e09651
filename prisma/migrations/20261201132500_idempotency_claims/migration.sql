-- AlterTable
ALTER TABLE "IdempotencyKey" ADD COLUMN     "claim" TEXT,
ADD COLUMN     "owner" INTEGER;
