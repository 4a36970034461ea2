/**
 * The package as users install it: a copy of the working tree is packed with `npm pack` (whose
 * `prepare` script builds dist/, as `npm install <git url>` does), the tarball is installed into a
 * scratch project that links this repository's `webgpu` (no second download), and the README's Node
 * example runs there. The published types must not show the internals (the runtime, GpuRuntime).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The ```ts block under the README's "### Node" heading. */
function readmeNodeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Node'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block under "### Node"');
  return block[1];
}

/** Files git would commit: tracked, and untracked ones that are not ignored. */
function workingTreeFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  return out.toString('utf8').split('\0').filter(Boolean);
}

describe('the packed package (npm pack → npm install → the README Node example)', () => {
  let scratch = '';
  let app = '';

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'webgpu-attention-pack-'));
    const copy = join(scratch, 'repo');
    for (const file of workingTreeFiles()) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(ROOT, file), join(copy, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    const tarball = execFileSync(NPM, ['pack', '--silent', '--pack-destination', scratch], { cwd: copy })
      .toString()
      .trim()
      .split('\n')
      .pop()!;
    app = join(scratch, 'app');
    mkdirSync(app);
    const dependencies = {
      'webgpu-attention': `file:${join(scratch, tarball)}`,
      webgpu: `file:${join(ROOT, 'node_modules', 'webgpu')}`,
    };
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', dependencies }));
    execFileSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
    writeFileSync(join(app, 'example.mjs'), readmeNodeExample());
  }, 240_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('installs the built bundle and one bundled declaration file, and no sources', () => {
    const installed = join(app, 'node_modules', 'webgpu-attention');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/webgpu-attention.js' });
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: installed }).toString().split('\n').sort();
    expect(files).toContain('./dist/webgpu-attention.js');
    expect(files).toContain('./dist/index.d.ts');
    expect(files.filter((f) => f.startsWith('./src/') || f.startsWith('./test/'))).toEqual([]);
  });

  it('publishes types without the internals', () => {
    const types = readFileSync(join(app, 'node_modules', 'webgpu-attention', 'dist', 'index.d.ts'), 'utf8');
    expect(types).toContain('export declare class AttentionContext');
    expect(types).toContain('export declare function createAttention');
    for (const internal of ['GpuRuntime', 'PipelineCache', 'BufferPool', 'TensorOwner', 'readonly runtime']) {
      expect(types).not.toContain(internal);
    }
  });

  it("runs the README's Node example from the installed package", () => {
    const printed = execFileSync(process.execPath, ['example.mjs'], { cwd: app, timeout: 120_000 }).toString();
    // q = k = v = zeros [1, 2, 4, 16]: the output is 128 zeros.
    expect(printed).toMatch(/^Float32Array\(128\) \[/);
    expect(printed.match(/\b0\b/g)?.length).toBeGreaterThanOrEqual(100);
  }, 150_000);
});
