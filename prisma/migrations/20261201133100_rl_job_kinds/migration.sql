-- AlterEnum: the RL routes of issue 14
ALTER TYPE "JobKind" ADD VALUE 'grpo';
ALTER TYPE "JobKind" ADD VALUE 'kto';
ALTER TYPE "JobKind" ADD VALUE 'best_of_n';
