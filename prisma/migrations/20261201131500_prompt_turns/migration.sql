-- A prompt may be a dialogue: its turns, ending with a user turn. Existing prompts stay plain
-- (turns NULL: one user turn, their text).
ALTER TABLE "Prompt" ADD COLUMN "turns" JSONB;
