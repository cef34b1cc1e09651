-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "ratingScales" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "thumbs" BOOLEAN NOT NULL DEFAULT true;

-- AlterTable
ALTER TABLE "Ranking" ADD COLUMN     "changedAt" TIMESTAMP(3),
ADD COLUMN     "frozenAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "AnswerRating" (
    "rankingId" TEXT NOT NULL,
    "answerId" TEXT NOT NULL,
    "scores" JSONB NOT NULL DEFAULT '{}',
    "thumb" BOOLEAN,

    CONSTRAINT "AnswerRating_pkey" PRIMARY KEY ("rankingId","answerId")
);

-- CreateIndex
CREATE INDEX "AnswerRating_answerId_idx" ON "AnswerRating"("answerId");

-- AddForeignKey
ALTER TABLE "AnswerRating" ADD CONSTRAINT "AnswerRating_rankingId_fkey" FOREIGN KEY ("rankingId") REFERENCES "Ranking"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AnswerRating" ADD CONSTRAINT "AnswerRating_answerId_fkey" FOREIGN KEY ("answerId") REFERENCES "Answer"("id") ON DELETE CASCADE ON UPDATE CASCADE;
