// What a process read from the database and keeps in memory until a writer changes it: the
// triggers of migration 20261202010000_kept_reads NOTIFY at every commit that changes any of it,
// on any process, and the process's lease connection listens (packages/db lease.ts). Nothing is
// kept while it does not listen, a notification forgets everything, and a read begun before a
// forget is not kept (it may have read what the forget was about). What is kept changes rarely
// next to how often it is read, so forgetting all of it at once costs little and cannot miss a key.
// Made through the kept-reads plugin, which also forgets when a route of this process changed
// something (its notification may arrive after the response).
import type { ProcessLease } from '@jielong/db';

/** the channel of jielong_kept_reads_changed */
export const KEPT_READS_CHANNEL = 'jielong_kept_reads';

export interface KeptReadsOptions {
  /** entries kept at most (the oldest is dropped first) */
  max?: number;
  /** how long an entry is kept at most, should a notification ever be lost */
  maxAgeMs?: number;
}

// Not a cache library: what this needs of one is a Map in insertion order (the oldest dropped
// first); what it adds, forgetting on a notification and not keeping a read a forget overtook, no
// cache library does.
export class KeptReads<T> {
  /** each value with the moment it is no longer kept */
  readonly #entries = new Map<string, { value: T; until: number }>();
  /** counts the forgets */
  #epoch = 0;
  readonly #lease: ProcessLease | null;
  readonly #max: number;
  readonly #maxAgeMs: number;

  constructor(lease: ProcessLease | null, { max = 10_000, maxAgeMs = 60_000 }: KeptReadsOptions = {}) {
    this.#lease = lease;
    this.#max = max;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Starts listening (without a lease nothing is ever kept). */
  async listen(): Promise<void> {
    await this.#lease?.listen(KEPT_READS_CHANNEL, () => this.forget());
  }

  forget(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (Date.now() < entry.until) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** A mark to take before reading what `keep` is then given. */
  mark(): number {
    return this.#epoch;
  }

  /**
   * Keeps `value`, read after `mark` was taken, unless something was forgotten since or no one
   * listens; until `endsAt` (ms since the epoch) at the latest, when what was read ends by itself.
   */
  keep(key: string, mark: number, value: T, endsAt = Infinity): void {
    if (mark !== this.#epoch || !this.#lease?.listening(KEPT_READS_CHANNEL)) return;
    this.#entries.delete(key); // kept again: now the newest
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: Math.min(Date.now() + this.#maxAgeMs, endsAt) });
  }
}
