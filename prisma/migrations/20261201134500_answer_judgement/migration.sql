-- AlterTable: a generate job with a judge scores every answer it writes
ALTER TABLE "Answer" ADD COLUMN     "reward" DOUBLE PRECISION,
ADD COLUMN     "logRatio" DOUBLE PRECISION;
