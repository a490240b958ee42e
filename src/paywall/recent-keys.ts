/**
 * Keys an isolate saw lately, at most `capacity` of them, each for `ttlMs`: a hint, never a
 * decision (losing one costs a facilitator call, nothing else). The oldest go first.
 */
export class RecentKeys {
  private readonly seenAt = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  /** Whether `key` was seen within `ttlMs` before `now`; records it as seen now either way. */
  seen(key: string, now = Date.now()): boolean {
    const at = this.seenAt.get(key);
    this.seenAt.delete(key);
    this.seenAt.set(key, now);
    if (this.seenAt.size > this.capacity) {
      const oldest = this.seenAt.keys().next().value;
      if (oldest !== undefined) this.seenAt.delete(oldest);
    }
    return at !== undefined && now - at < this.ttlMs;
  }
}
