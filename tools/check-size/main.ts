import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../contract/project';

/**
 * `npm run check:size`: no source file outside test/ over 600 lines, no function over 80. Prints
 * the largest of each either way, and exits 1 when a limit is broken. Size is a smell, not a
 * rule: the limits catch a file that wants splitting before review does.
 */

const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 80;
const SOURCE_FOLDERS = [
  'bin',
  'contract',
  'lib',
  'functions',
  'local',
  'tools',
  'bench',
  'packages/local-aws/src',
];

const HELP = `Usage: npm run check:size

Checks the TypeScript sources in ${SOURCE_FOLDERS.join(', ')}: files at most ${MAX_FILE_LINES} lines,
functions (declarations, methods, arrows, function expressions) at most ${MAX_FUNCTION_LINES} lines.
Prints the five largest files and functions. Exit code 0 within the limits, 1 otherwise.`;

interface Measured {
  readonly where: string;
  readonly lines: number;
}

function sourceFiles(folder: string): string[] {
  const root = join(PROJECT_ROOT, folder);
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(root, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sourceFiles(relative(PROJECT_ROOT, path));
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function functionsOf(path: string, text: string): Measured[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: Measured[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = ts.isConstructorDeclaration(node)
        ? 'constructor'
        : ((node as { name?: ts.Node }).name?.getText(source) ?? '(anonymous)');
      found.push({ where: `${relative(PROJECT_ROOT, path)}:${start + 1} ${name}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function main(argv: ReadonlyArray<string>): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  if (argv.length > 0) {
    console.error(`check:size takes no arguments (given ${argv.join(' ')})\n\n${HELP}`);
    return 2;
  }
  const files: Measured[] = [];
  const functions: Measured[] = [];
  for (const path of SOURCE_FOLDERS.flatMap(sourceFiles)) {
    const text = readFileSync(path, 'utf8');
    files.push({ where: relative(PROJECT_ROOT, path), lines: text.split('\n').length });
    functions.push(...functionsOf(path, text));
  }
  const largest = (list: Measured[]) => [...list].sort((a, b) => b.lines - a.lines);
  const print = (title: string, list: Measured[], max: number) => {
    console.log(`${title} (limit ${max} lines):`);
    for (const item of largest(list).slice(0, 5))
      console.log(`  ${String(item.lines).padStart(5)}  ${item.where}`);
  };
  print('Largest files', files, MAX_FILE_LINES);
  print('Largest functions', functions, MAX_FUNCTION_LINES);
  const over = [
    ...files.filter((f) => f.lines > MAX_FILE_LINES).map((f) => `file ${f.where}: ${f.lines} lines`),
    ...functions
      .filter((f) => f.lines > MAX_FUNCTION_LINES)
      .map((f) => `function ${f.where}: ${f.lines} lines`),
  ];
  if (over.length === 0) {
    console.log(`OK: ${files.length} files, ${functions.length} functions within the limits.`);
    return 0;
  }
  console.error(
    `Over the limits (split along their seams):\n${over.map((line) => `  - ${line}`).join('\n')}`,
  );
  return 1;
}

process.exit(main(process.argv.slice(2)));
