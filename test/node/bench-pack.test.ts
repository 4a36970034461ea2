/**
 * `npm run bench:pack` (bench/pack.mjs): builds the pack into a scratch folder, copies it
 * elsewhere, and runs its run.sh there with a clean environment (no Node on PATH; only
 * VK_ICD_FILENAMES pointing at SwiftShader), as on a bare GPU machine. A short decode-only run:
 * about a minute on a 2-core machine.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD } from '../setup/gpu-env';

const root = fileURLToPath(new URL('../..', import.meta.url));
const canRun = process.platform === 'linux' && process.arch === 'x64' && existsSync(SWIFTSHADER_ICD);
/** Debian's python3-torch (CPU only) lets the run exercise the PyTorch script and its table. */
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

let scratch = '';
let pack = '';

/** run.sh in a clean environment: PATH without Node, HOME and TMPDIR (where it unpacks) in scratch. */
function runPack(args: string[], extraEnv: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(join(pack, 'run.sh'), args, {
    encoding: 'utf8',
    timeout: 280_000,
    env: { PATH: '/usr/bin:/bin', HOME: scratch, TMPDIR: scratch, VK_ICD_FILENAMES: SWIFTSHADER_ICD, ...extraEnv },
  });
}

describe.skipIf(!canRun)('bench:pack', () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'webgpu-attention-pack-'));
    const built = spawnSync(process.execPath, ['bench/pack.mjs', '--out', join(scratch, 'built')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
    pack = join(scratch, 'copied');
    cpSync(join(scratch, 'built'), pack, { recursive: true });
  }, 200_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('stays under 60 MiB on disk', () => {
    const du = spawnSync('du', ['-sm', pack], { encoding: 'utf8' });
    const mib = Number(du.stdout.split(/\s/)[0]);
    expect(mib).toBeGreaterThan(10);
    expect(mib).toBeLessThan(60);
  });

  it('run.sh --quick runs the decode part from the copy, without Node on PATH', () => {
    const torchEnv: Record<string, string> = hasTorch ? { WEBGPU_ATTENTION_TORCH_DEVICE: 'cpu' } : {};
    const args = ['--quick', '--only', 'decode', '--decode-lengths', '256', '--prefill-lengths', '64', '--no-ort'];
    const r = runPack(args, torchEnv);
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stdout).toMatch(/^Adapter: .*vendor=\S+.*architecture=/m);
    expect(r.stdout).toMatch(/^Device features: /m);
    expect(r.stdout).toMatch(/^All limits: .*maxComputeWorkgroupStorageSize=\d+/m);
    expect(r.stdout).toMatch(/^Device peak: /m);
    // The decode row at Lk = 256: the flash column's median ms.
    const row = /^\| 256 \| [\d.]+ \| [^|]+ \| ([\d.]+) \(×\d+/m.exec(r.stdout);
    expect(row, r.stdout).not.toBeNull();
    expect(Number.isFinite(Number(row![1])) && Number(row![1]) > 0).toBe(true);
    expect(r.stdout).toMatch(/^\| prefill \| 1·32\/8·64·64·128 causal \| flash \| [\d.]+ \|/m);
    if (hasTorch) {
      expect(r.stdout).toMatch(/^### Native ceiling: PyTorch .* on the CPU/m);
      expect(r.stdout).toMatch(/^\| decode \| 1·32\/8·1·256·128 \| [\d.]+ \| [\d.]+ · [\d.]+ GB\/s/m);
    } else {
      expect(r.stdout).toMatch(/^Native ceiling \(PyTorch\): not measured: /m);
    }
  }, 300_000);

  it('run.sh --info prints the adapter and says in one line why PyTorch is not measured', () => {
    const r = runPack(['--info'], { WEBGPU_ATTENTION_PYTHON: '/nonexistent/python3' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Adapter: .*vendor=/m);
    expect(r.stdout).toMatch(/^Native ceiling \(PyTorch\): not measured: no \/nonexistent\/python3 here/m);
    expect(r.stderr).toMatch(/VK_ICD_FILENAMES=.*vk_swiftshader_icd\.json/);
  }, 120_000);
});
