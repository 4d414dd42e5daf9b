/** Remembers delivery keys (Slack retries, Telegram update ids) so that a redelivered input is handled once. */
export interface Deduper {
  /** True when `key` was seen before; records it otherwise. */
  seen(key: string): Promise<boolean>;
}

/** A bounded in-process deduper: enough within one process; share a store-backed one across Lambdas. */
export function memoryDeduper(capacity = 10_000): Deduper {
  const keys = new Set<string>();
  return {
    async seen(key) {
      if (keys.has(key)) return true;
      keys.add(key);
      if (keys.size > capacity) {
        const oldest = keys.values().next().value;
        if (oldest !== undefined) keys.delete(oldest);
      }
      return false;
    },
  };
}
