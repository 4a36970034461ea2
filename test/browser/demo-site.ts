/**
 * What the demo tests (demo.test.ts) share: the static site built as `npm run build:demo` builds it
 * (demo/vite.config.ts) under a non-root base, a plain static file server for it (any static host
 * must do), headless Chromium with or without WebGPU, and pages whose console errors are collected.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build } from 'vite';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Ignored by git (.vite/), apart from the user's dist-demo/. */
export const siteDir = join(projectRoot, '.vite', 'demo-ring-site');
/** Screenshots land here (ignored by git). */
export const shotsDir = join(projectRoot, 'test-output', 'demo');
/** Served under a path that is not '/', so the test sees the default (relative) build work anywhere. */
export const BASE = '/explorer/';
export const chromePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';

/** The browser ring's flags (test/browser/browser.test.ts): WebGPU on SwiftShader. */
export const WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
];
const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Builds the demo with its own config, as `npm run build:demo` does (relative asset URLs). */
export async function buildSite(): Promise<void> {
  await build({
    configFile: join(projectRoot, 'demo', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: siteDir, emptyOutDir: true, sourcemap: false },
  });
  await mkdir(shotsDir, { recursive: true });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
};

/** Serves `siteDir` under BASE, files only (a static host): everything else is 404. */
export async function serveSite(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const rel = path.startsWith(BASE) ? path.slice(BASE.length) || 'index.html' : null;
    const file = rel === null ? null : normalize(join(siteDir, rel));
    if (!file || !file.startsWith(siteDir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${BASE}`, server };
}

/** Headless Chromium with SwiftShader's WebGPU, or with none (no unsafe-WebGPU flags: no adapter). */
export async function launch(webgpu: boolean): Promise<{ browser: Browser; close(): Promise<void> }> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'webgpu-attention-demo-'));
  const browser = await puppeteer.launch({
    executablePath: chromePath,
    headless: true,
    args: [...(webgpu ? WEBGPU_ARGS : []), ...COMMON_ARGS, `--user-data-dir=${userDataDir}`],
    protocolTimeout: 300_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens `url` at a desktop width; console errors, page errors and failed requests go to `errors`. */
export async function openPage(
  browser: Browser,
  url: string,
  before?: (page: Page) => Promise<void>,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const errors: string[] = [];
  page.on('console', (m) => {
    const where = m.location().url ? ` (${m.location().url}:${m.location().lineNumber})` : '';
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}${where}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  if (before) await before(page);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
  return { page, errors };
}

/** Waits until the status line `selector` settles (done, error, unsupported or stopped); returns it. */
export async function settled(page: Page, selector: string, timeout = 180_000): Promise<Record<string, string>> {
  await page.waitForFunction(
    (sel) =>
      ['done', 'error', 'unsupported', 'stopped'].includes(
        (document.querySelector(sel) as HTMLElement)?.dataset.state ?? '',
      ),
    { timeout },
    selector,
  );
  return page.$eval(
    selector,
    (el) => ({ ...(el as HTMLElement).dataset, text: el.textContent ?? '' }) as Record<string, string>,
  );
}

/** Sets form controls of `scope` by name, as a visitor would (value + change event). */
export async function setFields(page: Page, scope: string, values: Record<string, string | number | boolean>) {
  await page.$eval(
    scope,
    (root, values) => {
      for (const [name, v] of Object.entries(values)) {
        const el = root.querySelector(`[name="${name}"]`) as HTMLInputElement | HTMLSelectElement;
        if (el instanceof HTMLInputElement && el.type === 'checkbox') el.checked = Boolean(v);
        else el.value = String(v);
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }
    },
    values,
  );
}

/** The luminance of every pixel of a canvas (one per heat-map cell). */
export async function canvasLuminance(
  page: Page,
  selector: string,
): Promise<{ width: number; height: number; lum: number[] }> {
  return page.$eval(selector, (el) => {
    const c = el as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const lum: number[] = [];
    for (let i = 0; i < d.length; i += 4) lum.push(0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2]);
    return { width: c.width, height: c.height, lum };
  });
}

/** Saves a screenshot of `selector` as test-output/demo/<name>.png. */
export async function shoot(page: Page, selector: string, name: string): Promise<void> {
  const el = await page.$(selector);
  await el?.screenshot({ path: join(shotsDir, `${name}.png`) as `${string}.png` });
}

/** The flat index of the largest value (the first, on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
