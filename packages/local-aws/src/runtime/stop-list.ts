/**
 * What a running local stack has to undo, in the reverse order it was started,
 * so that nothing is left running when start-up fails half-way.
 */
export class StopList {
  private readonly steps: Array<() => Promise<unknown>> = [];
  private stopping: Promise<void> | undefined;

  /** Adds a step to run at `stop()`: steps run last-added first, each one even if an earlier one failed. */
  add(step: () => Promise<unknown>): void {
    if (typeof step !== 'function')
      throw new TypeError(`a stop step must be a function (given ${typeof step})`);
    this.steps.push(step);
  }

  /** True once `stop()` was called. */
  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /** Runs every step once; later calls return the same promise. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) await step().catch(() => undefined);
    })();
    return this.stopping;
  }
}
