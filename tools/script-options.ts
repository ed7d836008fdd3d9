/**
 * The start every script's `main` shares (`npm run bench`, `npm start`, `npm run chaos`, …):
 * parse the command line, or say what is wrong with it followed by the help on stderr (exit code
 * 2), or print the help on stdout when `--help` was given (exit code 0).
 *
 * Returns the parsed options, or the exit code when the script should stop there.
 *
 * @example
 * const options = parseScriptOptions(parseOptions, HELP);
 * if (typeof options === 'number') return options;
 */
export function parseScriptOptions<T extends { readonly help?: boolean }>(
  parse: () => T,
  help: string,
): T | number {
  let options: T;
  try {
    options = parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (options.help) {
    console.log(help);
    return 0;
  }
  return options;
}
