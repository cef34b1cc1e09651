-- AlterTable
ALTER TABLE "JobLog" ADD COLUMN     "code" TEXT,
ADD COLUMN     "params" JSONB;
