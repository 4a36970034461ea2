/**
 * Browser ring: headless Chromium (SwiftShader WebGPU) runs the case table on a page Vite serves,
 * once against `src/` and once against the library built by `vite build` (the bundle users get).
 * Console errors, page errors and failed requests fail it. The demo has its own test (demo.test.ts).
 * Run: `npx vitest run --project browser` (Chromium: /usr/bin/chromium, or set CHROME_PATH).
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
import { LOCAL_CASES } from '../local-cases';
import { MHA_CASES } from '../mha-cases';
import { pagedRunnables } from '../helpers/paged-runners';
import { visionRunnables } from '../helpers/vision-runners';
import { scoreRunnables } from '../helpers/score-function-runners';
import { longInputRunnables } from '../helpers/long-runners';
import { graphRunnables } from '../helpers/graph-runners';
import type { CaseResult } from './page/main';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Ignored by git (.vite/); not dist/, so the test never clobbers a user's `npm run build`. */
const builtDir = join(projectRoot, '.vite', 'browser-ring-dist');
const bundleName = 'webgpu-attention.js';
const chromePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const CHROME_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let server: ViteDevServer;
let baseUrl: string;
let browser: Browser;
let userDataDir: string;
let buildError: unknown;
/** What the bundle imports (static and dynamic), from the build's own module graph. */
let bundleImports: string[] = [];
let bundleFiles: string[] = [];

/** Builds the bundle the second pass imports, with the project's vite.config.ts (as `npm run build`). */
async function buildLibrary(): Promise<void> {
  try {
    const out = await build({
      configFile: join(projectRoot, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: builtDir, emptyOutDir: true },
    });
    const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []));
    bundleFiles = outputs.map((o) => o.fileName);
    bundleImports = outputs.flatMap((c) => (c.type === 'chunk' ? [...c.imports, ...c.dynamicImports] : []));
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
      entries: ['test/browser/page/index.html'],
      include: ['wgsl_reflect/wgsl_reflect.module.js'],
    },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
}

interface OpenedPage {
  page: Page;
  errors: string[];
}

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
  console.log(
    `browser ring: build + server + ${await browser.version()} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

it('vite build produces one ESM bundle with the shaders inlined and no Dawn import', async () => {
  if (buildError) throw buildError;
  expect(
    bundleFiles.filter((f) => f.endsWith('.js')),
    'one ESM file, no split chunks',
  ).toEqual([bundleName]);
  console.log(`bundle imports: ${bundleImports.join(', ') || 'nothing'}`);
  const code = await readFile(join(builtDir, bundleName), 'utf8');
  const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const allowed = Object.keys(pkg.dependencies ?? {});
  const stray = bundleImports.filter((id) => !allowed.some((d) => id === d || id.startsWith(`${d}/`)));
  expect(stray, 'the bundle imports something that is not a package dependency (Dawn? a .wgsl file? a chunk?)').toEqual(
    [],
  );
  expect(bundleImports.some((id) => id === 'webgpu' || id.startsWith('webgpu/'))).toBe(false);
  expect(code, 'contains no WGSL compute entry point').toMatch(/@compute/);
  expect(code).toMatch(/export\s*\{[^}]*\bcreateAttention\b/);
});

/**
 * The page gets this long for the whole table (both libraries); then what finished is reported.
 * On a quiet 2-core machine the table takes a few minutes, nearly all of it SwiftShader compiling
 * pipelines; the ceiling leaves room for a busy one (it is not how long the ring takes).
 */
const PAGE_BUDGET_MS = 900_000;
const SRC_LIB = '/src/index.ts';
const BUILT_LIB = `/.vite/browser-ring-dist/${bundleName}`;

interface TableRun {
  results: Map<string, CaseResult>;
  errors: string[];
  failure?: string;
}

const key = (lib: string, name: string) => `${lib}\n${name}`;

/**
 * One page load runs the table with `src/` and then with the built bundle on the same device
 * (so SwiftShader compiles each pipeline once). A page that runs out of time still reports the
 * cases it finished, and which one it was stuck on.
 */
async function runTable(): Promise<TableRun> {
  const libs = buildError ? [SRC_LIB] : [SRC_LIB, BUILT_LIB];
  const t0 = performance.now();
  const { page, errors } = await openPage(
    `/test/browser/page/index.html?${libs.map((l) => `lib=${encodeURIComponent(l)}`).join('&')}`,
  );
  let failure: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), PAGE_BUDGET_MS);
  });
  const list = await Promise.race([page.evaluate(() => window.__results), timeout])
    .catch((e: unknown) => {
      failure = `the page failed: ${e instanceof Error ? e.message : String(e)}`;
      return null;
    })
    .finally(() => clearTimeout(timer));
  const progress = await page
    .evaluate(() => ({ ...window.__progress, now: performance.now() }))
    .catch(() => ({ done: [] as CaseResult[], running: null, since: 0, now: 0 }));
  if (!list && !failure) {
    failure =
      `the page ran out of its ${PAGE_BUDGET_MS / 1000} s budget` +
      (progress.running
        ? ` while running ${progress.running} (for ${((progress.now - progress.since) / 1000).toFixed(0)} s)`
        : '');
  }
  const done = list ?? progress.done;
  const info = await page.evaluate(() => window.__info).catch(() => undefined);
  console.log(
    `browser ring: ${done.length} case runs in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${info?.adapter}`,
  );
  await page.close();
  return { results: new Map(done.map((r) => [key(r.lib, r.name), r])), errors, failure };
}

describe('case table', () => {
  let run: TableRun;
  beforeAll(async () => {
    run = await runTable();
  });

  it('the page runs with no console errors, page errors or failed requests', () => {
    expect(run.errors).toEqual([]);
    expect(run.failure).toBeUndefined();
  });

  for (const [label, lib] of [
    ['src', SRC_LIB],
    ['built bundle', BUILT_LIB],
  ] as const) {
    describe(label, () => {
      const names = [
        ...CASES.map((c) => c.name),
        ...LOCAL_CASES.map((c) => `neighborhood ${c.name}`),
        ...MHA_CASES.map((c) => `mha ${c.name}`),
        ...pagedRunnables().map((c) => c.name),
        ...visionRunnables().map((c) => c.name),
        ...scoreRunnables().map((c) => c.name),
        ...longInputRunnables().map((c) => c.name),
        ...graphRunnables().map((c) => c.name),
      ];
      for (const name of names) {
        it(name, (ctx) => {
          ctx.skip(lib === BUILT_LIB && !!buildError, 'the library build failed: see the vite build test');
          const r = run.results.get(key(lib, name));
          expect(r, run.failure ?? 'the page reported no result for this case').toBeDefined();
          expect(r!.ok, r!.message).toBe(true);
        });
      }
    });
  }
});
