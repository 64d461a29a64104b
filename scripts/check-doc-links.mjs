#!/usr/bin/env node
// Checks README.md, CHANGELOG.md and docs/*.md: every relative link resolves to an existing file
// (and, with #anchor, to a heading of that file, slugged as GitHub does), and every repository
// path quoted in backticks (`src/...`, `python/...`, `test/...`, ...) exists. Code moves under
// the docs, so a rename shows up here instead of as a dead link. The changelog's quoted paths are
// history (files may since have moved), so only its links are checked. Exit 1 listing every problem.
// Usage: node scripts/check-doc-links.mjs
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docsDir = join(root, 'docs');
const files = [
  join(root, 'README.md'),
  join(root, 'CHANGELOG.md'),
  ...(existsSync(docsDir)
    ? readdirSync(docsDir)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(docsDir, f))
    : []),
];
// Top-level folders whose paths, quoted in backticks, must exist.
const REPO_DIRS = [
  'src/',
  'activities/',
  'workflows/',
  'app/',
  'bin/',
  'python/',
  'sim/',
  'test/',
  'bench/',
  'scripts/',
  'examples/',
  'docs/',
];

/** Text outside fenced code blocks (links and paths inside examples are not checked). */
function prose(text) {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1/-2 for repeats. */
function anchorsOf(file) {
  const seen = new Map();
  const out = new Set();
  for (const m of prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const problems = [];
for (const file of files) {
  const text = prose(readFileSync(file, 'utf8'));
  const where = relative(root, file);
  for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [path, anchor] = target.split('#');
    const dest = path === '' ? file : resolve(dirname(file), path);
    if (!existsSync(dest)) {
      problems.push(`${where}: link to ${target}: no such file`);
      continue;
    }
    if (
      anchor !== undefined &&
      statSync(dest).isFile() &&
      dest.endsWith('.md') &&
      !anchorsOf(dest).has(anchor)
    ) {
      problems.push(
        `${where}: link to ${target}: no heading with anchor #${anchor} in ${relative(root, dest)}`,
      );
    }
  }
  if (file.endsWith('CHANGELOG.md')) continue;
  for (const m of text.matchAll(/`([^`\s]+)`/g)) {
    const p = m[1].replace(/[.,:;]$/, '');
    if (!REPO_DIRS.some((d) => p.startsWith(d))) continue;
    if (/[<>*{}]|\.\.\./.test(p)) continue; // patterns and placeholders, not paths
    if (!existsSync(join(root, p.split('::')[0])))
      problems.push(`${where}: \`${p}\`: no such path in the repository`);
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  `doc links: ${files.length} files checked, every relative link and quoted path resolves`,
);
