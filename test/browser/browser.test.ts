/**
 * Browser ring: headless Chromium (SwiftShader WebGPU) runs the case table on a page Vite serves,
 * twice: against `src/` and against the library built by `vite build` (the bundle users get).
 * Then the demo page must show its result. Console errors and page errors fail the run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build, createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES } from '../cases';
import type { CaseResult } from './page/main';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Ignored by git (.vite/); not dist/, so the test never clobbers a user's `npm run build`. */
const builtDir = join(projectRoot, '.vite', 'browser-ring-dist');
const bundleName = 'webgpu-attention.js';
const chromePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const CHROME_ARGS = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
  '--use-vulkan=swiftshader', '--use-angle=swiftshader', '--no-sandbox',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

let server: ViteDevServer;
let baseUrl: string;
let browser: Browser;
let userDataDir: string;
let buildError: unknown;

/** The library build the `dist` pass imports; mirrors the first half of `npm run build`. */
async function buildLibrary(): Promise<void> {
  try {
    await build({
      configFile: join(projectRoot, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: builtDir, emptyOutDir: true },
    });
  } catch (e) {
    buildError = e;
  }
}

async function startServer(): Promise<void> {
  server = await createServer({
    configFile: false,
    root: projectRoot,
    publicDir: false,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, hmr: false, fs: { allow: [projectRoot] } },
    optimizeDeps: {
      entries: ['test/browser/page/index.html', 'demo/index.html'],
      include: ['wgsl_reflect/wgsl_reflect.module.js'],
    },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
}

interface OpenedPage { page: Page; errors: string[] }

/** Opens `path`; console errors, page errors and failed requests are collected in `errors`. */
async function openPage(path: string): Promise<OpenedPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    const where = m.location().url ? ` (${m.location().url}:${m.location().lineNumber})` : '';
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}${where}`);
    else if (m.type() === 'warn') console.warn(`[page ${path}] ${m.text()}${where}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(`${baseUrl}${path}`, { waitUntil: 'load' });
  return { page, errors };
}

beforeAll(async () => {
  if (!existsSync(chromePath)) {
    throw new Error(`no Chromium at ${chromePath}: run \`node test/setup/ensure-chromium.mjs\` or set CHROME_PATH`);
  }
  const t0 = performance.now();
  await buildLibrary();
  await startServer();
  userDataDir = await mkdtemp(join(tmpdir(), 'webgpu-attention-chromium-'));
  browser = await puppeteer.launch({
    executablePath: chromePath,
    headless: true,
    args: [...CHROME_ARGS, `--user-data-dir=${userDataDir}`],
    protocolTimeout: 600_000,
  });
  console.log(`browser ring: build + server + ${await browser.version()} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

it('vite build produces one ESM bundle with the shaders inlined and no Dawn import', async () => {
  if (buildError) throw buildError;
  const code = await readFile(join(builtDir, bundleName), 'utf8');
  expect(code, 'imports the `webgpu` package (Dawn)').not.toMatch(/(from|import\()\s*["']webgpu["']/);
  expect(code, 'imports a .wgsl file instead of inlining it').not.toMatch(/["'][^"']*\.wgsl(\?raw)?["']/);
  expect(code, 'contains no WGSL compute entry point').toMatch(/@compute/);
  expect(code).toMatch(/export\s*\{[^}]*\bcreateAttention\b/);
});

/** One pass over the case table with the library at `libUrl`; one `it` per case. */
function casePass(label: string, libUrl: () => string, needsBuild: boolean): void {
  describe(`case table (${label})`, () => {
    let results = new Map<string, CaseResult>();
    let opened: OpenedPage | undefined;
    let runError: unknown;

    beforeAll(async () => {
      if (needsBuild && buildError) return;
      const t0 = performance.now();
      const lib = encodeURIComponent(libUrl());
      opened = await openPage(`/test/browser/page/index.html?lib=${lib}`);
      try {
        const list = await opened.page.evaluate(() => window.__results);
        results = new Map(list.map((r) => [r.name, r]));
      } catch (e) {
        runError = e;
      }
      const info = await opened.page.evaluate(() => window.__info);
      console.log(`browser ring (${label}): ${results.size} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${JSON.stringify(info)}`);
      await opened.page.close();
    });

    it('the page runs with no console errors, page errors or failed requests', (ctx) => {
      ctx.skip(needsBuild && !!buildError, 'the library build failed: see the vite build test');
      if (runError) throw runError;
      expect(opened?.errors).toEqual([]);
      expect([...results.keys()].sort()).toEqual(CASES.map((c) => c.name).sort());
    });

    for (const c of CASES) {
      it(c.name, (ctx) => {
        ctx.skip(needsBuild && !!buildError, 'the library build failed: see the vite build test');
        const r = results.get(c.name);
        expect(r, runError ? String(runError) : 'the page reported no result for this case').toBeDefined();
        expect(r!.ok, r!.message).toBe(true);
      });
    }
  });
}

casePass('src', () => '/src/index.ts', false);
casePass('built bundle', () => `/.vite/browser-ring-dist/${bundleName}`, true);

it('the demo page shows its result with no console errors', async () => {
  const { page, errors } = await openPage('/demo/index.html');
  try {
    await page.waitForSelector('#result[data-state="done"], #result[data-state="error"], #result[data-state="unsupported"]', { timeout: 240_000 });
    const state = await page.$eval('#result', (el) => ({ state: (el as HTMLElement).dataset.state, text: el.textContent ?? '', maxErr: Number((el as HTMLElement).dataset.maxErr) }));
    console.log(`demo: ${state.text.replace(/\s+/g, ' ').trim()}`);
    expect(state.state, state.text).toBe('done');
    expect(state.maxErr).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
});
