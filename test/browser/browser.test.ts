/**
 * Browser ring: headless Chromium (SwiftShader WebGPU) runs the case tables on a page Vite serves, in
 * two page loads, each in a Chromium of its own:
 * - every case against the library built by `vite build` (the bundle users import), in a Chromium
 *   whose Dawn zero-fills workgroup memory in the shader (`ZERO_FILL_IN_SHADER`, as the Node ring's
 *   Dawn does): with SwiftShader's VK_KHR_zero_initialize_workgroup_memory, Chromium's default, each
 *   pipeline compile takes seconds in proportion to its workgroup memory, and the table compiles
 *   hundreds (on this 2-core machine about 260 s with the extension, 80 s without);
 * - one case of each table (`SRC_CASES`) against `src/` as Vite serves it (`npm start`'s path), in
 *   Chromium as shipped, so the dev-served library and Dawn's default zero-init path stay tested.
 *   (The wgpu ring runs every case with the driver's own zero-init, and demo.test.ts runs the demo
 *   in Chromium as shipped.)
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
/** Dawn zero-fills workgroup memory in the shader instead of through the Vulkan extension (same WGSL semantics). */
const ZERO_FILL_IN_SHADER = '--disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension';

let server: ViteDevServer;
let baseUrl: string;
let buildError: unknown;
/** What the bundle imports (static and dynamic), from the build's own module graph. */
let bundleImports: string[] = [];
let bundleFiles: string[] = [];

/** Builds the bundle the whole-table pass imports, with the project's vite.config.ts (as `npm run build`). */
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
async function openPage(browser: Browser, path: string): Promise<OpenedPage> {
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

/** A headless Chromium with `extraArgs`; `close()` also removes its profile. */
async function launchChromium(extraArgs: string[]): Promise<{ browser: Browser; close(): Promise<void> }> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'webgpu-attention-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromePath,
    headless: true,
    args: [...CHROME_ARGS, ...extraArgs, `--user-data-dir=${userDataDir}`],
    protocolTimeout: 600_000,
  });
  const close = async () => {
    await browser.close();
    await rm(userDataDir, { recursive: true, force: true });
  };
  return { browser, close };
}

beforeAll(async () => {
  if (!existsSync(chromePath)) {
    throw new Error(`no Chromium at ${chromePath}: run \`node test/setup/ensure-chromium.mjs\` or set CHROME_PATH`);
  }
  const t0 = performance.now();
  await buildLibrary();
  await startServer();
  console.log(`browser ring: build + server in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  await server?.close();
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
 * The page gets this long for a table; then what finished is reported. On a quiet 2-core machine
 * the whole table takes a minute or two, nearly all of it SwiftShader compiling pipelines; the
 * ceiling leaves room for a busy one (it is not how long the ring takes).
 */
const PAGE_BUDGET_MS = 900_000;
const SRC_LIB = '/src/index.ts';
const BUILT_LIB = `/.vite/browser-ring-dist/${bundleName}`;

/** The page's tables (test/browser/page/main.ts), by the names the page reports. */
const TABLES = {
  sdpa: CASES.map((c) => c.name),
  neighborhood: LOCAL_CASES.map((c) => `neighborhood ${c.name}`),
  mha: MHA_CASES.map((c) => `mha ${c.name}`),
  paged: pagedRunnables().map((c) => c.name),
  vision: visionRunnables().map((c) => c.name),
  scores: scoreRunnables().map((c) => c.name),
  long: longInputRunnables().map((c) => c.name),
  graph: graphRunnables().map((c) => c.name),
};
const ALL_CASES = Object.values(TABLES).flat();

/**
 * One case of each table for the `src/` pass, each among the table's quickest to compile: they
 * prove that every runner works on the library as Vite serves it and that each kernel family
 * compiles and runs with Chromium's defaults. The built bundle runs every case.
 */
const SRC_CASES: Record<keyof typeof TABLES, string> = {
  sdpa: 'causal upper-left Lq=7 Lk=33',
  neighborhood: 'neighborhood 1-D L=7 k=7 (the whole sequence) D=4',
  mha: 'mha E=64 H=8 Hkv=2 keyPaddingMask causal packed',
  paged: 'paged f32: 3 sequences in turns, GQA 4/2, D=24, pages of 8, one query',
  vision: 'spatial k=3, nhwc, N=2 C=24 13×17',
  scores: 'multiplicative causal Lq=Lk=77 Dq=24 Dk=40 Dv=8, float mask with a −∞ row, f16 inputs',
  long: 'linformer r=13, B=2 H=3 L=77 D=40 Dv=24',
  graph: 'graph N=77 Fin=24 H=3 F=5 mean over heads · slope 0.1 · no loops added (isolated nodes get the bias)',
};

interface Pass {
  label: string;
  lib: string;
  /** The cases to run; undefined: every case of the page. */
  cases?: string[];
  chromiumArgs: string[];
}

const PASSES: Pass[] = [
  {
    label: 'built bundle: every case (Dawn zero-fills workgroup memory in the shader)',
    lib: BUILT_LIB,
    chromiumArgs: [ZERO_FILL_IN_SHADER],
  },
  {
    label: 'src/ as Vite serves it: one case per table (Chromium as shipped)',
    lib: SRC_LIB,
    cases: Object.values(SRC_CASES),
    chromiumArgs: [],
  },
];

interface TableRun {
  results: Map<string, CaseResult>;
  errors: string[];
  failure?: string;
}

/** What the page reported so far, and the case it is running, for a page that runs out of time. */
async function progressOf(page: Page) {
  return page
    .evaluate(() => ({ ...window.__progress, now: performance.now() }))
    .catch(() => ({ done: [] as CaseResult[], running: null, since: 0, now: 0 }));
}

/**
 * One page load in a fresh Chromium runs `pass`. A page that runs out of time still reports the
 * cases it finished, and which one it was stuck on.
 */
async function runTable(pass: Pass): Promise<TableRun> {
  const t0 = performance.now();
  const chromium = await launchChromium(pass.chromiumArgs);
  try {
    const query = [
      `lib=${encodeURIComponent(pass.lib)}`,
      ...(pass.cases ?? []).map((n) => `case=${encodeURIComponent(n)}`),
    ];
    const { page, errors } = await openPage(chromium.browser, `/test/browser/page/index.html?${query.join('&')}`);
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
    const progress = await progressOf(page);
    if (!list && !failure) {
      failure =
        `the page ran out of its ${PAGE_BUDGET_MS / 1000} s budget` +
        (progress.running
          ? ` while running ${progress.running} (for ${((progress.now - progress.since) / 1000).toFixed(0)} s)`
          : '');
    }
    const done = list ?? progress.done;
    const info = await page.evaluate(() => window.__info).catch(() => undefined);
    const slowest = [...done].sort((a, b) => b.ms - a.ms).slice(0, 5);
    console.log(
      `browser ring, ${pass.lib}: ${done.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s on ` +
        `${info?.adapter} (${await chromium.browser.version()}${pass.chromiumArgs.map((a) => ` ${a}`).join('')})\n` +
        `slowest: ${slowest.map((r) => `${r.name} ${(r.ms / 1000).toFixed(1)} s`).join(' · ')}`,
    );
    await page.close();
    return { results: new Map(done.map((r) => [r.name, r])), errors, failure };
  } finally {
    await chromium.close();
  }
}

it('each src/ case is a case of its table', () => {
  const missing = Object.entries(SRC_CASES).filter(
    ([table, name]) => !TABLES[table as keyof typeof TABLES].includes(name),
  );
  expect(missing).toEqual([]);
});

for (const pass of PASSES) {
  describe(pass.label, () => {
    const needsBuild = pass.lib === BUILT_LIB;
    let run: TableRun | undefined;
    beforeAll(async () => {
      if (!(needsBuild && buildError)) run = await runTable(pass);
    });

    it('the page runs with no console errors, page errors or failed requests', (ctx) => {
      ctx.skip(!run, 'the library build failed: see the vite build test');
      expect(run!.errors).toEqual([]);
      expect(run!.failure).toBeUndefined();
    });

    for (const name of pass.cases ?? ALL_CASES) {
      it(name, (ctx) => {
        ctx.skip(!run, 'the library build failed: see the vite build test');
        const r = run!.results.get(name);
        expect(r, run!.failure ?? 'the page reported no result for this case').toBeDefined();
        expect(r!.lib).toBe(pass.lib);
        expect(r!.ok, r!.message).toBe(true);
      });
    }
  });
}
