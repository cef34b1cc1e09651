// Gives an imported base that has no chat format (no template, none of Jielong's chat tokens; see
// chat.ts) the tokens Jielong's format needs: the tokenizer gets them appended to its vocabulary
// and the model one embedding row (and, when its LM head is not tied, one head column) per token.
// The fine-tuning trainers call it where they copy their starting model; importing never does, so
// an imported base stays exactly the model it was.
import * as tf from '@tensorflow/tfjs';
import { CHAT_TOKENS, chatFormat } from './chat.ts';
import type { FrozenWeight } from './kernels/frozen.ts';
import { createModel, type CausalLM } from './models/index.ts';
import type { Tokenizer } from './tokenizers/index.ts';

export interface ChatReady {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** Tokens added (0: the model and tokenizer given, unchanged). */
  added: number;
}

/** Parameters indexed by token id: the embedding rows, and the untied LM head's columns. */
export const TOKEN_PARAMS: Readonly<Record<string, 'rows' | 'columns'>> = { wte: 'rows', 'lm_head.w': 'columns' };

/**
 * The model and tokenizer given when the tokenizer already has a chat format; otherwise a new
 * model (the given one is left as it is; dispose it yourself) and a tokenizer with CHAT_TOKENS at
 * the end. Each new row starts at the mean of the existing rows of real tokens, a common practice
 * when adding tokens (transformers' resize_token_embeddings centres its new rows on that mean too):
 * the new tokens start with ordinary logits (h·mean) instead of random ones, and the logits of
 * every old token stay exactly what they were. A model whose vocabulary was padded past the tokenizer's
 * puts the first new tokens into those spare rows (set to the mean as well) before growing.
 */
export function withChatTokens(model: CausalLM, tokenizer: Tokenizer): ChatReady {
  if (chatFormat(tokenizer) !== 'plain') return { model, tokenizer, added: 0 };
  const grown = tokenizer.withSpecialTokens(CHAT_TOKENS);
  const [old, next] = [tokenizer.vocabSize, grown.vocabSize];
  const V = model.config.vocabSize;
  if (old > V) throw new Error(`the tokenizer has ${old} tokens but the model only ${V} embedding rows`);
  // Built on the model's own weights (shared, frozen ones too), with the token parameters grown.
  const weights: Record<string, tf.Tensor | FrozenWeight> = {};
  const grownParams: tf.Tensor[] = [];
  for (const name of model.weightNames()) {
    if (name.includes('.lora_') || name.startsWith('head.')) continue;
    const by = Object.hasOwn(TOKEN_PARAMS, name) ? TOKEN_PARAMS[name] : null;
    if (!by) weights[name] = model.frozen[name] ?? model.params[name];
    else {
      const t = tf.tidy(() => withMeanSlices((model.params[name] as tf.Tensor2D | undefined) ?? tf.tensor2d(model.weightValues(name), model.shapeOf(name) as [number, number]), by === 'rows' ? 0 : 1, old, next));
      grownParams.push((weights[name] = t));
    }
  }
  const copy = createModel({ ...model.config, vocabSize: Math.max(V, next) }, { weights });
  tf.dispose(grownParams);
  try {
    if (model.lora) copy.addLora(model.lora);
    if (model.hasHead) copy.attachHead();
    for (const [name, v] of Object.entries(model.params)) if (name.includes('.lora_') || name.startsWith('head.')) copy.params[name].assign(v);
  } catch (e) {
    copy.dispose();
    throw e;
  }
  return { model: copy, tokenizer: grown, added: next - old };
}

/** t along `axis`: slices [0, old) kept, [old, next) set to the mean of [0, old), and the rest
 * (spare rows past next, if t had them) kept; at least `next` long. */
function withMeanSlices(t: tf.Tensor2D, axis: 0 | 1, old: number, next: number): tf.Tensor2D {
  const size = t.shape[axis];
  const kept = t.slice(axis === 0 ? [0, 0] : [0, 0], axis === 0 ? [old, -1] : [-1, old]);
  const mean = kept.mean(axis, true);
  const fresh = tf.tile(mean, axis === 0 ? [next - old, 1] : [1, next - old]);
  const parts = [kept, fresh];
  if (size > next) parts.push(t.slice(axis === 0 ? [next, 0] : [0, next], axis === 0 ? [size - next, -1] : [-1, size - next]));
  return tf.concat(parts, axis) as tf.Tensor2D;
}
