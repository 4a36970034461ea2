/**
 * Runs the wgpu ring's runner bundle in one Deno process and collects its records
 * (test/wgpu/protocol.ts) by kind and name. A crash (wgpu panics end the process), a fatal error
 * or the budget running out becomes `failure`, naming what was running, with Deno's stderr.
 *
 * @example
 * const run = await runDeno({ deno: '/path/deno', runner, lib, cwd: projectRoot, budgetMs: 420_000 });
 * console.log(run.cases.get('L=33 D=32')?.ok);
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CaseResult } from '../helpers/case-runners';
import { denoGpuEnv } from '../setup/deno';
import { decodeRecord, type Check, type Environment, type RingRecord } from './protocol';

export interface DenoRun {
  records: RingRecord[];
  environment?: Environment;
  cases: Map<string, CaseResult>;
  /** Every Check by kind, then name. */
  checks: Map<RingRecord['kind'], Map<string, Check>>;
  uncaptured: string[];
  /** Why the run did not reach its end, if it did not. */
  failure?: string;
  /** Deno's own output: stderr, and stdout lines that are not records. */
  output: string;
  ms: number;
}

export interface DenoRunOptions {
  deno: string;
  runner: string;
  lib: string;
  cwd: string;
  budgetMs: number;
}

export async function runDeno(o: DenoRunOptions): Promise<DenoRun> {
  const t0 = performance.now();
  const run: DenoRun = { records: [], cases: new Map(), checks: new Map(), uncaptured: [], output: '', ms: 0 };
  const env = { ...denoGpuEnv(), DENO_DIR: join(o.cwd, '.vite', 'deno-dir') };
  const args = ['run', '--unstable-webgpu', `--allow-read=${o.cwd}`, '--no-prompt', o.runner, o.lib];
  const child = spawn(o.deno, args, { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let running = 'start-up';
  let done = false;
  let fatal: string | undefined;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.output += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const record = decodeRecord(line);
    if (!record) {
      run.output += `${line}\n`;
      return;
    }
    run.records.push(record);
    if (record.kind === 'running') running = record.name;
    else if (record.kind === 'environment') run.environment = record.environment;
    else if (record.kind === 'case') run.cases.set(record.result.name, record.result);
    else if (record.kind === 'uncaptured') run.uncaptured.push(record.message);
    else if (record.kind === 'fatal') fatal = record.message;
    else if (record.kind === 'done') done = true;
    else {
      const byName = run.checks.get(record.kind) ?? new Map<string, Check>();
      byName.set(record.check.name, record.check);
      run.checks.set(record.kind, byName);
    }
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.budgetMs);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  run.ms = performance.now() - t0;
  const tail = run.output.length > 6000 ? `…${run.output.slice(-6000)}` : run.output;
  if (exit.error) run.failure = `could not start ${o.deno}: ${exit.error.message}`;
  else if (timedOut) run.failure = `Deno ran out of its ${o.budgetMs / 1000} s budget while running ${running}`;
  else if (fatal) run.failure = `the runner failed while running ${running}: ${fatal}`;
  else if (!done || exit.code !== 0)
    run.failure = `Deno exited (code ${exit.code}, signal ${exit.signal}) while running ${running}`;
  if (run.failure && tail.trim()) run.failure += `\nDeno's output:\n${tail}`;
  return run;
}
