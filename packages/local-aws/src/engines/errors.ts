/** Base class of the local engines' errors: `code` is stable and safe to branch on. */
export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `java` is not on PATH, so DynamoDB Local (a Java program) cannot start. */
export class JavaNotFoundError extends EngineError {
  constructor(options?: { cause?: unknown }) {
    super(
      'JavaNotFound',
      'java was not found on PATH: install Java 17+ (Debian: apt-get install -y default-jre-headless)',
      options,
    );
  }
}

/** An engine process exited or did not answer before it was ready; `output` holds its last lines. */
export class EngineStartError extends EngineError {
  constructor(
    readonly engine: string,
    problem: string,
    readonly output: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      'EngineStartFailed',
      `${engine} ${problem}${output.length > 0 ? `; last output:\n${output.join('\n')}` : ' (it printed nothing)'}`,
      options,
    );
  }
}

/** The engine's port is taken by another process; `output` holds the engine's last lines, if it got that far. */
export class PortInUseError extends EngineError {
  constructor(
    readonly engine: string,
    readonly port: number,
    readonly output: readonly string[] = [],
  ) {
    super('PortInUse', `${engine} cannot listen on port ${port}: it is already in use`);
  }
}
