/**
 * Browser ring page: runs every case of test/cases.ts through the library on this browser's
 * WebGPU (flash `sdpa`, and `sdpaNaive` with weights), then the neighbourhood table
 * (test/local-cases.ts) and the multi-head-attention table (test/mha-cases.ts), compares with the
 * float64 reference, and exposes the outcome as `window.__results` for the puppeteer test.
 *
 * `?lib=URL` selects the library under test: `/src/index.ts` (default) or a built bundle; repeat
 * it to run the table once per library, on one shared device.
 * `?case=NAME` (repeatable; any name, commas included) or `?cases=a,b` (names without commas) runs
 * only those cases.
 * Failures are results, not console errors: a console error means the page itself misbehaved.
 * The cases run through test/helpers/case-runners.ts, which the wgpu ring's Deno runner shares.
 */
import {
  localRunnables,
  mhaRunnables,
  sdpaRunnables,
  type Attention,
  type CaseResult,
  type Lib,
  type Runnable,
} from '../../helpers/case-runners';
import { pagedRunnables } from '../../helpers/paged-runners';
import { visionRunnables } from '../../helpers/vision-runners';
import { scoreRunnables } from '../../helpers/score-function-runners';
import { longInputRunnables } from '../../helpers/long-runners';
import { graphRunnables } from '../../helpers/graph-runners';

export type { CaseResult };

declare global {
  interface Window {
    __results: Promise<CaseResult[]>;
    /** Results so far and the case in progress, for a test that runs out of time. */
    __progress: { done: CaseResult[]; running: string | null; since: number };
    /** Which library URLs and adapter the run used, for the test's log. */
    __info?: { libs: string[]; adapter: string };
  }
}

function addRow(r: CaseResult): void {
  const tr = document.createElement('tr');
  const cells = [r.lib, r.name, r.ok ? 'ok' : 'FAIL', r.maxErr.toExponential(2), r.ms.toFixed(0), r.message ?? ''];
  for (const text of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  tr.className = r.ok ? 'ok' : 'fail';
  document.getElementById('rows')!.append(tr);
}

/** The sdpa table, then the other tables; `?case=` / `?cases=` keep only the named ones. */
function selectedCases(params: URLSearchParams): Runnable[] {
  const all: Runnable[] = [
    ...sdpaRunnables(),
    ...localRunnables(),
    ...mhaRunnables(),
    ...pagedRunnables(),
    ...visionRunnables(),
    ...scoreRunnables(),
    ...longInputRunnables(),
    ...graphRunnables(),
  ];
  const names = new Set([...params.getAll('case'), ...(params.get('cases')?.split(',') ?? [])]);
  return names.size ? all.filter((c) => names.has(c.name)) : all;
}

/** Turns errors no call reported (uncaptured WebGPU errors) into console errors, which fail the run. */
function watchDevice(device: GPUDevice): void {
  device.addEventListener('uncapturederror', (ev) => {
    console.error(`uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
  });
}

async function runTable(lib: Lib, libUrl: string, attn: Attention, cases: Runnable[]): Promise<CaseResult[]> {
  const status = document.getElementById('status')!;
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    status.textContent = `${libUrl}: running ${i + 1}/${cases.length}: ${c.name}`;
    const t0 = performance.now();
    window.__progress.running = `${c.name} (${libUrl})`;
    window.__progress.since = t0;
    const r = { ...(await c.run(lib, attn)), name: c.name, lib: libUrl, ms: performance.now() - t0 };
    results.push(r);
    window.__progress.done.push(r);
    window.__progress.running = null;
    addRow(r);
  }
  return results;
}

/**
 * Runs the table once per `lib`. Later libraries get the first one's device
 * (`createAttention({ device })`): the bundle is then tested without paying SwiftShader's
 * pipeline compiles twice, since Dawn shares identical pipelines within a device.
 */
async function run(): Promise<CaseResult[]> {
  const params = new URLSearchParams(location.search);
  const libUrls = params.getAll('lib');
  if (libUrls.length === 0) libUrls.push('/src/index.ts');
  if (!('gpu' in navigator)) throw new Error('navigator.gpu is missing: this browser has no WebGPU');
  const contexts: Attention[] = [];
  const results: CaseResult[] = [];
  try {
    for (const libUrl of libUrls) {
      const lib = (await import(/* @vite-ignore */ libUrl)) as Lib;
      const attn = contexts.length
        ? await lib.createAttention({ device: contexts[0].device })
        : await lib.createAttention();
      if (contexts.length === 0) {
        watchDevice(attn.device);
        const info = attn.device.adapterInfo;
        window.__info = { libs: libUrls, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim() };
      }
      contexts.push(attn);
      results.push(...(await runTable(lib, libUrl, attn, selectedCases(params))));
    }
  } finally {
    for (const attn of contexts.reverse()) attn.destroy();
  }
  const failed = results.filter((r) => !r.ok).length;
  document.getElementById('status')!.textContent =
    `done: ${results.length - failed} passed, ${failed} failed (adapter ${window.__info?.adapter})`;
  return results;
}

window.__progress = { done: [], running: null, since: performance.now() };
window.__results = run();
