// How the demo ends: a short table, the paths that matter, how to look at it now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoEnding } from '../../../src/cli/demo-ending.js';
import type { GenerationArtifact } from '../../../src/domain/generation-result.js';

const artifact = {
  path: '/ws/demo-1/potentials/generation_000/output_potential.yace',
  version: 'generation_000',
  parentVersion: null,
  simulated: true,
  metrics: {
    train: { energy_rmse_mev_per_atom: 4.84, force_rmse_mev_per_a: 246.9 },
    test: { energy_rmse_mev_per_atom: 5.1, force_rmse_mev_per_a: 250.25 },
  },
} as unknown as GenerationArtifact;
const base = {
  artifact,
  workflowId: 'train-demo-1-generation_000',
  namespace: 'default',
  uiUrl: 'http://127.0.0.1:8233',
  dbFile: '/x/.mlip/temporal-dev.sqlite',
  report: null,
  keep: false,
};

test('the ending is a short table with the metrics and who trained it, then the paths that matter', () => {
  const text = demoEnding(base).join('\n');
  assert.match(text, /Done: generation_000 of demo-1, trained from scratch\./);
  assert.match(
    text,
    /generation\s+train E meV\/atom\s+train F meV\/Å\s+test E meV\/atom\s+test F meV\/Å\s+trained by\n\s+generation_000\s+4\.84\s+246\.90\s+5\.10\s+250\.25\s+SIMULATOR \(not physics\)/,
  );
  assert.match(
    text,
    /potential \(LAMMPS \.yace\): \/ws\/demo-1\/potentials\/generation_000\/output_potential\.yace/,
  );
  assert.match(
    text,
    /artifact:\s+\/ws\/demo-1\/potentials\/generation_000\/artifact\.json \(--json prints it in full\)/,
  );
  assert.match(text, /report:\s+\(none: run with --report/);
  assert.ok(text.split('\n').length < 30, 'short');
});

test('without --keep it says how to reopen the UI on the same database; with --keep, where the UI is', () => {
  const closed = demoEnding({ ...base, report: '/ws/demo-1/report/index.html' }).join('\n');
  assert.match(closed, /history is kept in \/x\/\.mlip\/temporal-dev\.sqlite/);
  assert.match(closed, /npx mlip-trainer dev/);
  assert.match(
    closed,
    /http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/train-demo-1-generation_000/,
  );
  assert.match(closed, /report:\s+\/ws\/demo-1\/report\/index\.html/);
  const kept = demoEnding({ ...base, keep: true }).join('\n');
  assert.match(
    kept,
    /Temporal UI \(stays up until Ctrl-C\): http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/train-demo-1-generation_000/,
  );
  assert.doesNotMatch(kept, /mlip-trainer dev/);
});
