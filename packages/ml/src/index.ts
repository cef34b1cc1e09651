// @jielong/ml: tokenizers, model families (GPT, Llama), imported formats, training and sampling on TensorFlow.js.
export * from './backend.ts';
export * from './models/index.ts';
export * from './optim.ts';
export * from './checkpoint.ts';
export { FrozenWeight } from './kernels/frozen.ts';
export * from './sample.ts';
export * from './pretrain.ts';
export * from './memory.ts';
export * from './parallel.ts';
export * from './tokenizers/index.ts';
export * from './formats/index.ts';
export * from './chat.ts';
export * from './chat-tokens.ts';
export {
  cloneModel, holdOut, promptTurns, renderAnswer, shuffled, type Batch, type EpochConfig, type PreferencePair, type Prompt, type PromptAnswer, type Row,
  type StepProgress, type TrainerOptions,
} from './train/common.ts';
export * from './train/sft.ts';
export * from './train/reward.ts';
export * from './train/ppo.ts';
export * from './train/dpo.ts';
export * from './train/grpo.ts';
export * from './train/kto.ts';
export * from './train/best-of-n.ts';
export { sampleRollouts, sampledKl, scoreAnswers, textLogProbs, type Rollout } from './train/rollouts.ts';
