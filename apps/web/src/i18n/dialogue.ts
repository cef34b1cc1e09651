// Strings of conversations (multi-turn prompts): the Dialogue component, the write and rank tasks
// around it, and the import and export of dialogues. Merged into messages.ts's en and zh.

export const dialogueEn = {
  'dialogue.role.system': 'System',
  'dialogue.role.user': 'User',
  'dialogue.role.assistant': 'Assistant',
  'dialogue.turns': '{n} turns',
  'dialogue.nextWrite': 'Write the assistant’s next turn.',
  'dialogue.nextRank': 'The answers below are candidates for the assistant’s next turn.',
  'dialogue.exportConversational': 'conversational (turns)',
  'import.promptsDialogueHelp': 'A dialogue keeps its turns: {"messages":[{"role","content"}…]} ending with a user turn, or an hh-rlhf "\\n\\nHuman: …\\n\\nAssistant: …" prompt.',
  'import.prefsDialogueHelp': 'Dialogues keep their turns: hh-rlhf, and TRL’s conversational {"prompt":[turns],"chosen":[…],"rejected":[…]}.',
} as const;

export const dialogueZh: Record<keyof typeof dialogueEn, string> = {
  'dialogue.role.system': '系统',
  'dialogue.role.user': '用户',
  'dialogue.role.assistant': '助手',
  'dialogue.turns': '{n} 轮',
  'dialogue.nextWrite': '请写出助手的下一轮回复。',
  'dialogue.nextRank': '下面的回答是助手下一轮回复的候选。',
  'dialogue.exportConversational': '对话格式（多轮）',
  'import.promptsDialogueHelp': '多轮对话会保留每一轮：{"messages":[{"role","content"}…]}，最后一轮须为用户；或 hh-rlhf 格式 "\\n\\nHuman: …\\n\\nAssistant: …" 的提示。',
  'import.prefsDialogueHelp': '多轮对话会保留每一轮：hh-rlhf，以及 TRL 的对话格式 {"prompt":[多轮],"chosen":[…],"rejected":[…]}。',
};
