-- AlterEnum
ALTER TYPE "ComparisonStatus" ADD VALUE 'gold';

-- AlterTable
ALTER TABLE "Comparison" ADD COLUMN     "goldOrder" JSONB;

-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "goldRate" DOUBLE PRECISION NOT NULL DEFAULT 0.1;

-- CreateTable
CREATE TABLE "RaterExclusion" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "raterId" TEXT NOT NULL,
    "from" TIMESTAMP(3),
    "until" TIMESTAMP(3),
    "reason" TEXT NOT NULL DEFAULT '',
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RaterExclusion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RaterExclusion_projectId_raterId_idx" ON "RaterExclusion"("projectId", "raterId");

-- AddForeignKey
ALTER TABLE "RaterExclusion" ADD CONSTRAINT "RaterExclusion_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RaterExclusion" ADD CONSTRAINT "RaterExclusion_raterId_fkey" FOREIGN KEY ("raterId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RaterExclusion" ADD CONSTRAINT "RaterExclusion_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

