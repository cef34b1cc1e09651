-- Each comparison keeps the pairwise agreement of its rankings (written with each ranking), so the
-- dashboard sums a column instead of reading every ranking of the project. Comparisons that exist
-- now get NULL (not computed: the dashboard computes them once, in TypeScript, with the same
-- pairwiseAgreement); new ones start at 0.
ALTER TABLE "Comparison" ADD COLUMN "comparedPairs" INTEGER, ADD COLUMN "agreedPairs" INTEGER;
ALTER TABLE "Comparison" ALTER COLUMN "comparedPairs" SET DEFAULT 0, ALTER COLUMN "agreedPairs" SET DEFAULT 0;
