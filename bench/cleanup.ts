/**
 * What the benchmark has started and must stop: engines, the local pipeline,
 * SDK clients. Sections stop their own resources when they finish; whatever is
 * still registered when the run fails or is interrupted (Ctrl-C) is stopped by
 * `runAll`, newest first.
 */
export class Cleanup {
  private readonly actions: Array<() => Promise<void>> = [];

  /** Registers a stop action; the returned function runs it (at most once) and unregisters it. */
  add(action: () => Promise<unknown>): () => Promise<void> {
    let running: Promise<void> | undefined;
    const release = (): Promise<void> => {
      const index = this.actions.indexOf(release);
      if (index >= 0) this.actions.splice(index, 1);
      running ??= action().then(
        () => undefined,
        () => undefined,
      );
      return running;
    };
    this.actions.push(release);
    return release;
  }

  /** Awaits a resource being started and registers how to stop it; resolves to the resource and its release. */
  async track<T>(
    starting: Promise<T>,
    stop: (resource: T) => Promise<unknown>,
  ): Promise<[T, () => Promise<void>]> {
    const resource = await starting;
    return [resource, this.add(() => stop(resource))];
  }

  /** Stops everything still registered, newest first; never throws. */
  async runAll(): Promise<void> {
    while (this.actions.length > 0) {
      const release = this.actions.at(-1);
      if (release) await release();
    }
  }
}
