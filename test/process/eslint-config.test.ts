// The lint rules that keep workflow-side code deterministic (eslint.config.js), checked against
// the code as it is: every module the workflows import carries the ban on Node built-ins and I/O
// libraries, and a workflow-side file importing `fs` or `node:fs` fails lint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/paths.js';

const RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({ cwd: PROJECT_ROOT });

/** The project's files the workflow bundle holds: workflows/index.ts and what it imports at run time, transitively. */
async function workflowSideFiles(): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.ES2022);
    for (const s of source.statements) {
      const typeOnly = (ts.isImportDeclaration(s) && s.importClause?.isTypeOnly) || (ts.isExportDeclaration(s) && s.isTypeOnly);
      const from = (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : null;
      // Type-only imports are erased (the activities, imported as types, never reach the sandbox).
      if (from === null || typeOnly || !from.startsWith('.')) continue;
      await visit(resolve(dirname(file), from.replace(/\.js$/, '.ts')));
    }
  };
  await visit(join(PROJECT_ROOT, 'workflows', 'index.ts'));
  return [...seen].map((f) => relative(PROJECT_ROOT, f)).sort();
}

/** The import names the rule's options forbid outright. */
async function bannedNames(file: string): Promise<Set<string>> {
  const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, [unknown, { paths?: { name: string }[] }?]> };
  const options = config.rules?.[RULE]?.[1];
  return new Set((options?.paths ?? []).map((p) => p.name));
}

test('every module the workflows import bans every Node built-in, with and without node:, and the I/O libraries', async () => {
  const files = await workflowSideFiles();
  assert.ok(files.includes('workflows/train-potential.ts') && files.includes('src/domain/messages.ts') && files.includes('src/errors.ts'), files.join(', '));
  for (const file of files) {
    const banned = await bannedNames(file);
    for (const m of builtinModules.filter((b) => !b.startsWith('_'))) {
      assert.ok(banned.has(m) && banned.has(`node:${m}`), `${file} may import ${m}: give it the workflow-side ban in eslint.config.js`);
    }
    for (const lib of ['execa', 'js-yaml', '@temporalio/worker']) assert.ok(banned.has(lib), `${file} may import ${lib}`);
  }
});

/**
 * Lint errors of the import rule for `code` as if it were `file` (a path under the project that
 * need not exist): the rule as eslint.config.js configures it there, without type information.
 */
async function lint(file: string, code: string): Promise<string[]> {
  const config = (await eslint.calculateConfigForFile(file)) as { rules: Record<string, Linter.RuleEntry> };
  const linter = new Linter({ configType: 'flat' });
  return linter
    .verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { '@typescript-eslint': tseslint.plugin }, rules: { [RULE]: config.rules[RULE]! } }], file)
    .map((m) => `${m.line}: ${m.message}`);
}

test('a workflow-side file importing fs or node:fs fails lint, and one importing only pure modules passes', async () => {
  const bad = "import { readFileSync } from 'fs';\nimport { readFile } from 'node:fs';\nimport { test } from 'node:test';\n";
  for (const file of ['workflows/probe.ts', 'src/domain/probe.ts']) {
    const errors = await lint(file, bad);
    assert.equal(errors.length, 3, errors.join('\n'));
    assert.deepEqual(errors.map((e) => e.split(':')[0]), ['1', '2', '3']);
    assert.match(errors[0]!, /'fs' import is restricted.*no Node built-ins/);
  }
  assert.deepEqual(await lint('workflows/probe.ts', "import { z } from 'zod';\nimport { trainWorkflowId } from '../src/domain/naming.js';\nimport type { Activities } from '../activities/index.js';\n"), []);
  // Activities only as types, and no I/O module of the library.
  assert.equal((await lint('workflows/probe.ts', "import { createActivities } from '../activities/index.js';\nimport { createTrainer } from '../src/trainer/factory.js';\n")).length, 2);
});

test('nothing under src/ may import activities/ or workflows/, not even their types', async () => {
  const errors = await lint('src/cli/probe.ts', "import type { Activities } from '../../activities/index.js';\nimport { trainPotentialWorkflow } from '../../workflows/index.js';\n");
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0]!, /composition root \(app\/worker\.ts\)/);
});
