/** `drain()`: waits until the stack has settled, for tests and demos. */

/** Something that can report being caught up. */
export interface Drainable {
  drain(timeoutMs: number): Promise<void>;
}

/**
 * Resolves when every mapping has caught up and no EventBridge delivery is
 * pending, twice in a row with no activity in between (a delivery can start a
 * new invocation, which can publish again).
 */
export async function drainAll(
  mappings: ReadonlyArray<Drainable>,
  eventBus: { waitForIdle(timeoutMs: number): Promise<void> },
  activity: () => string,
  timeoutMs: number,
): Promise<void> {
  if (!(timeoutMs > 0)) throw new RangeError(`drain timeout must be more than 0 ms (given ${timeoutMs})`);
  const deadline = Date.now() + timeoutMs;
  let quietPasses = 0;
  let lastActivity = activity();
  while (quietPasses < 2) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`the local stack did not settle within ${timeoutMs} ms`);
    await Promise.all([...mappings.map((m) => m.drain(remaining)), eventBus.waitForIdle(remaining)]);
    const now = activity();
    quietPasses = now === lastActivity ? quietPasses + 1 : 0;
    lastActivity = now;
  }
}
