/**
 * The demo (attention explorer), built as a static site under a sub-path and served by a plain file
 * server: headless Chromium on SwiftShader runs every section at small sizes, and what the page shows
 * is checked against the library (the float64 reference, recomputed here in Node from the page's own
 * input builders). A second Chromium without WebGPU checks the fallback. Screenshots of each section
 * go to test-output/demo/. Run: `npx vitest run --project browser test/browser/demo.test.ts`.
 */
import type { Server } from 'node:http';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference } from '../../src/index';
import { mapInputs, mapOptions, type MapParams } from '../../demo/sections/attention-map-data';
import { edgeIndex, gatInputs, NODES } from '../../demo/sections/graph-data';
import { GRID, patchFeatures } from '../../demo/sections/vision-image';
import {
  argmax,
  buildSite,
  canvasLuminance,
  launch,
  openPage,
  serveSite,
  setFields,
  settled,
  shoot,
  shotsDir,
} from './demo-site';

const TOL = 1e-4;
let url = '';
let server: Server | undefined;
const t0 = performance.now();

beforeAll(async () => {
  await buildSite();
  ({ url, server } = await serveSite());
  console.log(`demo ring: site built and served in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  console.log(`demo ring: ${((performance.now() - t0) / 1000).toFixed(1)} s in all`);
});

describe('with WebGPU (SwiftShader)', () => {
  let page: Page;
  let errors: string[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    const b = await launch(true);
    close = b.close;
    ({ page, errors } = await openPage(b.browser, `${url}?autorun=0`));
  }, 120_000);
  afterAll(async () => close?.());

  it('finds the adapter', async () => {
    expect(await page.evaluate(() => window.__demo.gpu)).toBe(true);
    expect(await page.$eval('#device', (e) => (e as HTMLElement).dataset.state)).toBe('ready');
  });

  it('Playground: flash sdpa and linear attention agree with the reference', async () => {
    for (const op of ['full', 'linear']) {
      await setFields(page, '#playground', { op, B: 1, H: 2, Hkv: 2, L: 32, D: 16, runs: 2 });
      await page.click('#playground-run');
      const s = await settled(page, '#playground-status');
      console.log(`playground ${op}: ${s.text}`);
      expect(s.state, s.text).toBe('done');
      expect(Number(s.maxErr)).toBeLessThan(TOL);
      expect(s.ok).toBe('true');
      expect(Number(s.gflops)).toBeGreaterThan(0);
    }
    await shoot(page, '#playground', 'playground');
  });

  it('Attention map: the brightest cell is the largest weight; top-k and hover are shown', async () => {
    const p: MapParams = { pattern: 'causal', L: 24, H: 2, w: 4, block: 4, k: 3 };
    await setFields(page, '#attention-map', { pattern: p.pattern, L: p.L, H: p.H });
    await page.click('#map-run');
    const s = await settled(page, '#map-status');
    expect(s.state, s.text).toBe('done');
    expect(Number(s.maxErr)).toBeLessThan(TOL);
    const inputs = mapInputs(p);
    for (const normalization of ['softmax', 'sigmoid'] as const) {
      const ref = reference.sdpa(inputs.q, inputs.k, inputs.v, {
        ...mapOptions(p).options,
        normalization,
        returnWeights: true,
      });
      for (const head of [0, 1]) {
        await setFields(page, '#attention-map', { head });
        const want = ref.weights!.data.subarray(head * p.L * p.L, (head + 1) * p.L * p.L);
        const drawn = await canvasLuminance(page, `#map-${normalization}`);
        expect([drawn.width, drawn.height]).toEqual([p.L, p.L]);
        const brightest = Math.max(...drawn.lum);
        expect(
          drawn.lum[argmax(want)],
          `${normalization} head ${head}: the largest weight is not drawn brightest`,
        ).toBe(brightest);
        // Causal: every key after its query is drawn as removed (black).
        expect(drawn.lum.filter((l, i) => i % p.L > Math.floor(i / p.L) && l !== 0)).toEqual([]);
      }
    }
    await setFields(page, '#attention-map', { head: 0 });
    const box = (await (await page.$('#map-softmax'))!.boundingBox())!;
    const cell = box.width / p.L;
    await page.mouse.move(box.x + cell * 5.5, box.y + cell * 9.5);
    const read = await page.$eval('#map-softmax', (c) => ({
      ...(c.closest('figure')!.querySelector('.readout') as HTMLElement).dataset,
    }));
    const want = reference.sdpa(inputs.q, inputs.k, inputs.v, { causal: true, returnWeights: true }).weights!.data;
    expect([Number(read.row), Number(read.col)]).toEqual([9, 5]);
    expect(Math.abs(Number(read.value) - want[9 * p.L + 5])).toBeLessThan(TOL);
    await shoot(page, '#attention-map', 'attention-map');
    await setFields(page, '#attention-map', { pattern: 'topk', k: 3 });
    await page.click('#map-run');
    expect((await settled(page, '#map-status')).state).toBe('done');
    const topk = await canvasLuminance(page, '#map-softmax');
    for (let r = 0; r < p.L; r++) expect(topk.lum.slice(r * p.L, (r + 1) * p.L).filter((l) => l > 0).length).toBe(3);
    expect(await page.$eval('#map-sigmoid', (c) => (c.closest('figure') as HTMLElement).hidden)).toBe(true);
  });

  it('Vision: a click on a patch moves the map; CBAM draws its gates', async () => {
    await page.click('#vision-run');
    const s = await settled(page, '#vision-status');
    expect(s.state, s.text).toBe('done');
    expect(s.ok).toBe('true');
    const c = await settled(page, '#cbam-status');
    expect(c.state, c.text).toBe('done');
    expect(Number(c.maxErr)).toBeLessThan(TOL);
    const gain = await page.evaluate(() => (window.__demo.sections.vision as { gain: number }).gain);
    const feats = patchFeatures(gain);
    const ref = reference.sdpa(feats, feats, feats, { scale: 1, returnWeights: true }).weights!.data;
    const N = GRID * GRID;
    const box = (await (await page.$('#vision-global'))!.boundingBox())!;
    const shots: number[][] = [];
    for (const patch of [9, 50]) {
      const [gy, gx] = [Math.floor(patch / GRID), patch % GRID];
      await page.mouse.click(box.x + ((gx + 0.5) / GRID) * box.width, box.y + ((gy + 0.5) / GRID) * box.height);
      const sel = await page.evaluate(
        () => window.__demo.sections.visionSelection as { selected: number; globalRow: number[] },
      );
      expect(sel.selected).toBe(patch);
      expect(await page.$eval('#vision-local', (e) => (e as HTMLElement).dataset.selected)).toBe(String(patch));
      const want = ref.subarray(patch * N, (patch + 1) * N);
      expect(Math.max(...sel.globalRow.map((w, i) => Math.abs(w - want[i])))).toBeLessThan(TOL);
      expect(await page.$eval('#vision-global', (e) => Number((e as HTMLElement).dataset.argmax))).toBe(argmax(want));
      shots.push((await canvasLuminance(page, '#vision-global')).lum);
    }
    expect(shots[0], 'the map did not change when another patch was clicked').not.toEqual(shots[1]);
    const bars = await page.$$eval('#cbam-bars rect.bar', (r) => r.map((e) => Number(e.getAttribute('data-value'))));
    expect(bars).toHaveLength(8);
    for (const v of bars) expect(v > 0 && v < 1).toBe(true);
    expect(
      await page.$eval('#cbam-spatial', (e) => [(e as HTMLCanvasElement).width, (e as HTMLCanvasElement).height]),
    ).toEqual([16, 16]);
    await shoot(page, '#vision', 'vision');
  });

  it('Rollout: rollout beside the last layer, checked against the reference', async () => {
    await setFields(page, '#rollout', { L: 12, layers: 2 });
    await page.click('#rollout-run');
    const s = await settled(page, '#rollout-status');
    expect(s.state, s.text).toBe('done');
    expect(Number(s.maxErr)).toBeLessThan(TOL);
    for (const id of ['#rollout-last', '#rollout-map'])
      expect(await page.$eval(id, (e) => (e as HTMLCanvasElement).width)).toBe(12);
    await shoot(page, '#rollout', 'rollout');
  });

  it('Graph: a click on a node draws its attention over its neighbours', async () => {
    await setFields(page, '#graph', { heads: 2 });
    await page.click('#graph-run');
    const s = await settled(page, '#graph-status');
    expect(s.state, s.text).toBe('done');
    expect(Number(s.maxErr)).toBeLessThan(TOL);
    await page.click('#graph-svg [data-node="33"]');
    const sel = await page.evaluate(
      () => window.__demo.sections.graphSelection as { incoming: Array<{ from: number; weight: number }> },
    );
    expect(sel.incoming).toHaveLength(18); // 17 friends and itself
    const host = gatInputs(2);
    const g = reference.graph(edgeIndex(), NODES);
    const { x, ...weights } = host;
    const ref = reference.graphAttention(x, g, { ...weights, heads: 2, returnWeights: true });
    const idx = g.edgeIndex.data;
    const E = g.numEdges;
    for (const { from, weight } of sel.incoming) {
      const e = [...Array(E).keys()].find((i) => idx[i] === from && idx[E + i] === 33)!;
      expect(Math.abs(weight - ref.weights.data[e * 2])).toBeLessThan(TOL);
    }
    const widths = await page.$$eval('#graph-svg line.attended', (l) =>
      l.map((e) => Number(e.getAttribute('data-weight'))),
    );
    expect(widths).toHaveLength(17);
    await shoot(page, '#graph', 'graph');
  });

  it('Benchmark: one point per size and method; Stop stops', async () => {
    await setFields(page, '#benchmark', { sizes: '16, 32, 64', H: 2, D: 16, runs: 1 });
    await page.click('#bench-start');
    const s = await settled(page, '#bench-status');
    expect(s.state, s.text).toBe('done');
    const points = await page.$$eval('#bench-chart circle.point', (c) =>
      c.map((e) => [e.getAttribute('data-series'), Number(e.getAttribute('data-x'))]),
    );
    expect(points).toHaveLength(15);
    for (const L of [16, 32, 64]) expect(points.filter(([, x]) => x === L)).toHaveLength(5);
    await shoot(page, '#benchmark', 'benchmark');
    await setFields(page, '#benchmark', { sizes: '16, 32, 64, 96, 128, 192' });
    await page.click('#bench-start');
    await page.waitForFunction(() => document.querySelectorAll('#bench-chart circle.point').length >= 1, {
      timeout: 60_000,
    });
    await page.click('#bench-stop');
    const stopped = await settled(page, '#bench-status');
    expect(stopped.state, stopped.text).toBe('stopped');
    const after = await page.$$eval('#bench-chart circle.point', (c) => c.length);
    expect(after).toBeLessThan(30);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await page.$$eval('#bench-chart circle.point', (c) => c.length), 'points kept coming after Stop').toBe(
      after,
    );
  });

  it('keyboard reaches every section’s controls; phone width has no sideways scroll', async () => {
    const reached = new Set<string>();
    await page.focus('body');
    for (let i = 0; i < 260; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const a = document.activeElement as HTMLElement | null;
        return a?.id || a?.getAttribute('data-node') || a?.getAttribute('name') || '';
      });
      if (id) reached.add(id);
    }
    for (const id of [
      'playground-run',
      'map-run',
      'map-softmax',
      'vision-run',
      'vision-global',
      'cbam-run',
      'rollout-run',
      'graph-run',
      '0',
      'bench-start',
      'fallback-run',
    ]) {
      expect(reached.has(id), `Tab never reached ${id}`).toBe(true);
    }
    // Width only: a change of isMobile would reload the page.
    await page.setViewport({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${shotsDir}/phone.png`, fullPage: true });
    await page.setViewport({ width: 1200, height: 900 });
  });

  it('has no console errors', () => {
    expect(errors).toEqual([]);
  });
});

describe('without WebGPU', () => {
  for (const [label, hide] of [
    ['no adapter', false],
    ['no navigator.gpu', true],
  ] as const) {
    it(`${label}: says so, and the CPU reference still answers`, async () => {
      const b = await launch(false);
      try {
        const { page, errors } = await openPage(b.browser, `${url}?autorun=0`, async (p) => {
          if (hide) await p.evaluateOnNewDocument(() => delete (Navigator.prototype as { gpu?: unknown }).gpu);
        });
        expect(await page.evaluate(() => window.__demo.gpu)).toBe(false);
        const msg = await page.$eval('#fallback-message', (e) => ({
          state: (e as HTMLElement).dataset.state,
          text: e.textContent ?? '',
        }));
        expect(msg.state).toBe('no-webgpu');
        expect(msg.text).toMatch(hide ? /navigator\.gpu is missing/ : /no GPU adapter/);
        expect(msg.text).toMatch(/What to do/);
        const s = await settled(page, '#fallback-status', 60_000);
        expect(s.state, s.text).toBe('done');
        expect(s.ok).toBe('true');
        expect(await page.$eval('#fallback-map', (e) => (e as HTMLCanvasElement).width)).toBe(32);
        expect(await page.$$eval('.needs-gpu', (e) => e.length)).toBeGreaterThanOrEqual(6);
        await shoot(page, '#without-webgpu', `without-webgpu-${hide ? 'no-api' : 'no-adapter'}`);
        expect(errors).toEqual([]);
      } finally {
        await b.close();
      }
    }, 120_000);
  }
});
