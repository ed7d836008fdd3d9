/**
 * Sleeps that `stop()` can cut short, so a mapping stops promptly instead of
 * finishing its idle poll interval or batching window.
 */
export class InterruptibleSleeper {
  private readonly wakers = new Set<() => void>();

  /** Resolves after `ms`, or at once when {@link wakeAll} is called. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /** Ends every pending sleep now. */
  wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}

/** Polls `condition` every `intervalMs` until it is true; rejects with `onTimeout()` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { readonly timeoutMs: number; readonly intervalMs: number; readonly onTimeout: () => Error },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) throw options.onTimeout();
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
