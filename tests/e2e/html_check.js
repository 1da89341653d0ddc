// Drives `cprof html`'s page in Debian's headless chromium with
// playwright-core: collects console errors and network requests, clicks
// table headers and a flame-graph frame, takes screenshots. Prints one
// JSON object of facts; test_html.py judges them.
// usage: node html_check.js NPM_PREFIX PAGE.html OUT.png USER_DATA_DIR
'use strict';
const path = require('path');

const [npmPrefix, page, png, userDataDir] = process.argv.slice(2);
const { chromium } = require(path.join(npmPrefix, 'node_modules', 'playwright-core'));

// What the tests read from a table: the first row's cells.
async function firstRow(p, section) {
  return p.$eval(`#${section} table.sortable tbody tr`,
                 (tr) => Array.from(tr.cells, (c) => c.textContent));
}

async function clickHeader(p, section, title) {
  await p.locator(`#${section} table.sortable thead th`, { hasText: title }).first().click();
  return firstRow(p, section);
}

// A section's flame graph lives in an iframe (its own document).
async function graph(p, section) {
  const idx = await p.$$eval('section', (ss, id) =>
    ss.findIndex((x) => x.id === id), section);
  const handle = await p.$(`#${section} iframe.fg`);
  return { frame: await handle.contentFrame(), idx };
}

// Every frame of a flame graph: name, width, shown.
async function frames(f) {
  return f.$$eval('svg g', (gs) => gs.filter((g) => g.querySelector('title')).map((g) => {
    const t = g.querySelector('title').textContent;
    return {
      name: t.slice(0, t.lastIndexOf(' (')),
      width: parseFloat(g.querySelector('rect').getAttribute('width')),
      shown: g.style.display !== 'none',
    };
  }));
}

(async () => {
  const facts = { console_errors: [], page_errors: [], requests: [], sorts: {}, zoom: {},
                  timeline: {} };
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1300, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const p = await ctx.newPage();
    p.on('console', (m) => { if (m.type() === 'error') facts.console_errors.push(m.text()); });
    p.on('pageerror', (e) => facts.page_errors.push(String(e)));
    p.on('request', (r) => { if (!r.url().startsWith('file:')) facts.requests.push(r.url()); });
    await p.goto('file://' + path.resolve(page), { waitUntil: 'load' });
    facts.title = await p.title();
    facts.sections = await p.$$eval('section', (ss) => ss.map((s) => s.id));

    // The profile (file0) and the last snapshot (file3) of the page.
    const s = facts.sorts;
    s.profile_initial = await firstRow(p, 'file0');
    s.profile_tottime = await clickHeader(p, 'file0', 'tottime');
    s.profile_ncalls = await clickHeader(p, 'file0', 'ncalls');
    s.profile_name_asc = await clickHeader(p, 'file0', 'filename:lineno(function)');
    s.profile_name_desc = await clickHeader(p, 'file0', 'filename:lineno(function)');
    s.snap_initial = await firstRow(p, 'file3');
    s.snap_average = await clickHeader(p, 'file3', 'average');
    s.snap_count_desc = await clickHeader(p, 'file3', 'count');
    s.snap_count_asc = await clickHeader(p, 'file3', 'count');

    // The last snapshot's memory-over-time chart: markers, then a hover.
    const tl = facts.timeline;
    tl.charts = await p.$$eval('svg.timeline', (ss) => ss.length);
    const chart = p.locator('#file3 svg.timeline');
    tl.peak_title = await chart.locator('circle.tl-peak title').textContent();
    tl.snapshot_titles = await chart.locator('line.tl-snap title').allTextContents();
    tl.lines = await chart.locator('polyline').evaluateAll((ls) => ls.map((l) => ({
      cls: l.getAttribute('class'), points: l.getAttribute('points').split(' ').length })));
    tl.xticks = await chart.locator('text.tl-xtick').allTextContents();
    tl.yticks = await chart.locator('text.tl-ytick').allTextContents();
    await chart.scrollIntoViewIfNeeded();
    const box = await chart.locator('rect.tl-hover').boundingBox();
    tl.readout_before = await chart.locator('text.tl-readout').textContent();
    await p.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    tl.readout = await chart.locator('text.tl-readout').textContent();
    tl.guide = await chart.locator('line.tl-guide').getAttribute('visibility');

    const z = facts.zoom;
    const { frame } = await graph(p, 'file0');
    z.graphs = await p.$$eval('iframe.fg', (fs) => fs.length);
    z.before = await frames(frame);
    // fact's frames are a few pixels wide: a DOM click hits exactly.
    await frame.locator('svg g', { has: frame.locator('title', { hasText: /^fact / }) })
      .first().dispatchEvent('click');
    z.after = await frames(frame);
    await p.locator('#file0 iframe.fg').scrollIntoViewIfNeeded();
    await p.screenshot({ path: png.replace(/\.png$/, '-zoomed.png') });
    await frame.locator('svg text', { hasText: 'Reset zoom' }).click();
    z.after_reset = await frames(frame);
    // A mouse click on a wide frame.
    await frame.locator('svg g', { has: frame.locator('title', { hasText: /^fact / }) })
      .first().dispatchEvent('click');
    await frame.locator('svg g', { has: frame.locator('title', { hasText: /^main / }) })
      .first().click();
    z.after_main = await frames(frame);
    await frame.locator('svg text', { hasText: 'Reset zoom' }).click();
    await p.evaluate(() => window.scrollTo(0, 0));
    await p.screenshot({ path: png, fullPage: true });
  } finally {
    await ctx.close();
  }
  process.stdout.write(JSON.stringify(facts) + '\n');
})().catch((e) => {
  process.stderr.write('html_check: ' + (e && e.stack || e) + '\n');
  process.exit(1);
});
