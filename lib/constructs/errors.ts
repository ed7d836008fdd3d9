import { type Duration, Token } from 'aws-cdk-lib';

/**
 * Thrown by a construct constructor when a prop is out of range or inconsistent.
 *
 * The message names the prop, the rule it broke and the value given, so a failing
 * `cdk synth` points straight at the offending line of the stack.
 */
export class ConstructPropsError extends Error {
  override readonly name = 'ConstructPropsError';
}

/**
 * Checks that a count lies in `[min, max]`; unresolved tokens pass, since their value
 * is only known at deploy time.
 *
 * @throws ConstructPropsError `<name> must be between <min> and <max> (given <value>)`
 */
export function validateIntegerInRange(name: string, value: number, min: number, max: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value)) {
    throw new ConstructPropsError(`${name} must be a whole number (given ${value})`);
  }
  if (value < min || value > max) {
    throw new ConstructPropsError(`${name} must be between ${min} and ${max} (given ${value})`);
  }
}

/**
 * Checks that a duration lies in `[min, max]` and is whole seconds (CloudFormation takes every
 * duration of the pipeline in seconds or coarser, and CDK's `toSeconds()` throws an untyped error
 * on a fraction); unresolved durations pass.
 *
 * @throws ConstructPropsError `<name> must be between <min> and <max> (given <value>)`
 * @throws ConstructPropsError `<name> must be whole seconds (given <value> milliseconds)`
 */
export function validateDurationInRange(name: string, value: Duration, min: Duration, max: Duration): void {
  if (value.isUnresolved()) return;
  const millis = value.toMilliseconds({ integral: false });
  if (!Number.isFinite(millis) || millis < min.toMilliseconds() || millis > max.toMilliseconds()) {
    throw new ConstructPropsError(
      `${name} must be between ${min.toHumanString()} and ${max.toHumanString()} (given ${value.toHumanString()})`,
    );
  }
  if (!Number.isInteger(millis / 1000)) {
    // In milliseconds: toHumanString() rounds to two units, so it would hide the fraction.
    throw new ConstructPropsError(`${name} must be whole seconds (given ${millis} milliseconds)`);
  }
}
