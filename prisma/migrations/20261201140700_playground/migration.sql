-- The playground: a project setting letting annotators in, and the replies models write there.
ALTER TABLE "Project" ADD COLUMN "playgroundForAnnotators" BOOLEAN NOT NULL DEFAULT false;

CREATE TYPE "PlaygroundStatus" AS ENUM ('queued', 'running', 'succeeded', 'stopped', 'failed');

CREATE TABLE "PlaygroundReply" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "userId" TEXT,
    "modelId" TEXT,
    "turns" JSONB NOT NULL,
    "sampling" JSONB NOT NULL,
    "status" "PlaygroundStatus" NOT NULL DEFAULT 'queued',
    "text" TEXT NOT NULL DEFAULT '',
    "finish" TEXT,
    "stopRequested" BOOLEAN NOT NULL DEFAULT false,
    "error" JSONB,
    "stats" JSONB NOT NULL DEFAULT '{}',
    "demonstrationId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    CONSTRAINT "PlaygroundReply_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "PlaygroundReply_demonstrationId_key" ON "PlaygroundReply"("demonstrationId");
CREATE INDEX "PlaygroundReply_projectId_userId_createdAt_idx" ON "PlaygroundReply"("projectId", "userId", "createdAt");
ALTER TABLE "PlaygroundReply" ADD CONSTRAINT "PlaygroundReply_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "PlaygroundReply" ADD CONSTRAINT "PlaygroundReply_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "PlaygroundReply" ADD CONSTRAINT "PlaygroundReply_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "PlaygroundReply" ADD CONSTRAINT "PlaygroundReply_demonstrationId_fkey" FOREIGN KEY ("demonstrationId") REFERENCES "Demonstration"("id") ON DELETE SET NULL ON UPDATE CASCADE;
