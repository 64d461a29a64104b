// The report page: self-contained, its numbers in the table and the JSON block, simulated marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, reportPage } from '../../../src/report/page.js';
import { campaignFixture } from './fixture.js';

const figure = {
  name: 'rmse',
  title: 'RMSE <per> generation',
  caption: 'c',
  spec: {},
  svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
  file: 'figures/rmse.svg',
};

test('the page loads nothing from anywhere: no scripts to run, no stylesheets, images or fonts to fetch', () => {
  const html = reportPage(campaignFixture(), [figure]);
  assert.doesNotMatch(html, /<script(?![^>]*type="application\/json")/);
  assert.doesNotMatch(html, /\ssrc=/);
  assert.doesNotMatch(html, /<link(?![^>]*href="data:)/);
  assert.doesNotMatch(html, /href="https?:/);
  assert.match(html, /<h2>RMSE &lt;per&gt; generation<\/h2>/);
});

test('its numbers are in the table cells and the JSON block at full precision', () => {
  const r = campaignFixture();
  const html = reportPage(r, [figure]);
  assert.match(html, new RegExp(`<td class="n" data-value="${110.123456789 - 40}">70\\.12</td>`));
  const json = JSON.parse(
    /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!,
  ) as { generations: { metrics: { test: { force_rmse_mev_per_a: number } } }[] };
  assert.equal(
    json.generations[2]!.metrics.test.force_rmse_mev_per_a,
    r.generations[2]!.metrics!.test!.force_rmse_mev_per_a,
  );
});

test('simulated potentials are marked in a banner and in their rows', () => {
  const html = reportPage(campaignFixture(), []);
  assert.match(
    html,
    /<p class="sim" id="simulated">Simulated: generation_000, generation_001, generation_002 were made by the pacemaker simulator/,
  );
  assert.match(html, /<tr id="row-generation_000" class="simulated">/);
  const real = campaignFixture();
  for (const g of real.generations) g.simulated = false;
  assert.doesNotMatch(reportPage(real, []), /id="simulated"/);
});

test('a campaign name or path cannot inject markup, nor end the JSON block', () => {
  const r = campaignFixture();
  r.generations[2]!.stoppedEarly = { iteration: 1, reason: '</script><b>' };
  const html = reportPage(r, []);
  assert.equal((html.match(/<\/script>/g) ?? []).length, 1);
  assert.equal(escapeHtml('<a href="x">&'), '&lt;a href=&quot;x&quot;&gt;&amp;');
});
