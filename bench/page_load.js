// bench/scale.sh: how long Debian's headless chromium (driven by
// playwright-core, as tests/e2e/html_check.js does) takes to load a flame
// graph SVG or an HTML report, up to its load event, and how many frames
// (titled SVG groups, in the page and in its iframes) it then holds.
// Prints "SECONDS FRAMES".
// usage: node page_load.js NPM_PREFIX FILE USER_DATA_DIR
'use strict';
const path = require('path');

const [npmPrefix, file, userDataDir] = process.argv.slice(2);
const { chromium } = require(path.join(npmPrefix, 'node_modules', 'playwright-core'));

(async () => {
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1300, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const p = await ctx.newPage();
    const start = process.hrtime.bigint();
    await p.goto('file://' + path.resolve(file), { waitUntil: 'load', timeout: 300000 });
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    let frames = 0;
    for (const f of p.frames())
      frames += await f.$$eval('svg g', (gs) => gs.filter((g) => g.querySelector('title')).length);
    console.log(secs.toFixed(2) + ' ' + frames);
  } finally {
    await ctx.close();
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
