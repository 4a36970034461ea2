/**
 * The soak: thousands of mixed calls (every operation, valid and invalid, and the tensor makers) on
 * one context, reading back only a sample, destroying every output. Afterwards the context must hold
 * exactly the buffers it held before, its pool must stay bounded, no GPU error may have surfaced,
 * every invalid call must have been rejected cleanly and every sampled result must match.
 */
import fc from 'fast-check';
import { GpuMask, GpuTensor } from '../../../src/index';
import { admit, closeShrinkWindow } from './budget';
import { agrees } from './compare';
import { invalidArb, rejectionProblems, type InvalidSpec, type MutationTable } from './invalid';
import { checkLinear, linearArb, linearCall, linearKey, runLinear, type LinearSpec } from './linear';
import { checkLocal, localArb, localCall, localKey, runLocal, type LocalSpec } from './local';
import { checkMha, uploadMha } from './mha-run';
import { mhaArb, mhaHostCase, mhaKeys, type MhaSpec } from './mha-spec';
import { naiveKey, flashKey, sdpaArb, sdpaHostCase, type SdpaSpec } from './sdpa-spec';
import { checkSdpa, gpuOptions, uploadSdpa } from './sdpa-run';
import { Scratch, type World } from './world';

export interface SoakReport {
  calls: number;
  byOp: Record<string, number>;
  /** Milliseconds spent per kind of call. */
  msByOp: Record<string, number>;
  sampled: number;
  skipped: number;
  pipelinesBefore: number;
  pipelinesAfter: number;
  liveBefore: number;
  liveAfter: number;
  pooledBefore: number;
  pooledAfter: number;
  pooledPeak: number;
  seconds: number;
  problems: string[];
}

type SoakCall =
  | { op: 'flash' | 'naive'; spec: SdpaSpec }
  | { op: 'local'; spec: LocalSpec }
  | { op: 'linear'; spec: LinearSpec }
  | { op: 'mha'; spec: MhaSpec }
  | { op: 'invalid'; table: string; spec: InvalidSpec }
  | { op: 'tensor'; size: number; bool: boolean };

/** The mixed stream of calls, deterministic in the seed. */
function callArb(tables: Record<string, MutationTable>): fc.Arbitrary<SoakCall> {
  const invalid = Object.entries(tables).map(([name, table]) =>
    invalidArb(name, table).map((spec) => ({ op: 'invalid' as const, table: name, spec })),
  );
  // Weights: cheap calls (invalid ones, tensor round trips) dominate so 10 000 calls stay fast; a
  // layer forward (~15 ms on SwiftShader: uploads, five dispatches) is rarest.
  return fc.oneof(
    { weight: 12, arbitrary: sdpaArb('ordinary').map((spec) => ({ op: 'flash' as const, spec })) },
    { weight: 6, arbitrary: sdpaArb('ordinary').map((spec) => ({ op: 'naive' as const, spec })) },
    { weight: 4, arbitrary: localArb('ordinary').map((spec) => ({ op: 'local' as const, spec })) },
    { weight: 8, arbitrary: linearArb('ordinary').map((spec) => ({ op: 'linear' as const, spec })) },
    { weight: 2, arbitrary: mhaArb('ordinary').map((spec) => ({ op: 'mha' as const, spec })) },
    {
      weight: 18,
      arbitrary: fc.record({
        op: fc.constant('tensor' as const),
        size: fc.integer({ min: 1, max: 5000 }),
        bool: fc.boolean(),
      }),
    },
    { weight: 50, arbitrary: fc.oneof(...invalid) },
  );
}

function admitted(c: SoakCall): boolean {
  if (c.op === 'flash') return admit('flash', flashKey(c.spec));
  if (c.op === 'naive') return admit('naive', naiveKey(c.spec));
  if (c.op === 'local') return admit('local', localKey(c.spec));
  if (c.op === 'linear') return admit('linear', linearKey(c.spec));
  if (c.op === 'mha') return admit('mha', mhaKeys(c.spec));
  return true;
}

/** Every GpuTensor / GpuMask in a result, destroyed; its `ready` watched for a GPU error. */
function release(result: unknown, watch: (p: Promise<void>) => void): void {
  const tensors =
    result instanceof GpuTensor
      ? [result]
      : Object.values((result ?? {}) as object).filter((v) => v instanceof GpuTensor);
  for (const t of tensors as GpuTensor[]) {
    watch(t.ready);
    t.destroy();
  }
}

/** Runs one valid call without reading anything back. */
function fire(w: World, c: SoakCall, watch: (p: Promise<void>) => void): void {
  const scratch = new Scratch(w.attn);
  try {
    if (c.op === 'flash' || c.op === 'naive') {
      const h = sdpaHostCase(c.spec);
      const { q, k, v, mask } = uploadSdpa(scratch, h);
      const options = gpuOptions(h, c.op, mask);
      release(c.op === 'flash' ? w.attn.sdpa(q, k, v, options) : w.attn.sdpaNaive(q, k, v, options), watch);
    } else if (c.op === 'local') {
      release(runLocal(w, scratch, c.spec.rank, localCall(c.spec)), watch);
    } else if (c.op === 'linear') {
      release(runLinear(w, scratch, linearCall(c.spec)), watch);
    } else if (c.op === 'mha') {
      const u = uploadMha(scratch, mhaHostCase(c.spec));
      const layer = w.attn.multiHeadAttention(u.config);
      try {
        release(layer.forward(u.x, u.options), watch);
      } finally {
        layer.destroy();
      }
    } else if (c.op === 'tensor') {
      const t = c.bool
        ? w.attn.mask(new Uint8Array(c.size), [c.size])
        : w.attn.tensor(new Float32Array(c.size), [c.size]);
      if (t instanceof GpuMask) t.destroy();
      else release(t, watch);
    }
  } finally {
    scratch.destroy();
  }
}

/** Runs one call and reads it back through the ring's property bodies (reference comparison included). */
async function sample(w: World, c: SoakCall): Promise<void> {
  if (c.op === 'flash' || c.op === 'naive') return checkSdpa(w, c.op, c.spec);
  if (c.op === 'local') return checkLocal(w, c.spec);
  if (c.op === 'linear') return checkLinear(w, c.spec);
  if (c.op === 'mha') return checkMha(w, c.spec);
  if (c.op === 'tensor') {
    const data = Float32Array.from({ length: c.size }, (_, i) => i % 7);
    const t = w.attn.tensor(data, [c.size]);
    const back = await t.read();
    t.destroy();
    if (!back.every((x, i) => agrees(x, data[i])))
      throw new Error(`tensor [${c.size}] did not read back what was written`);
  }
}

/** Runs `calls` mixed calls; reads back one valid call in `every`. */
export async function soak(
  w: World,
  calls: number,
  seed: number,
  tables: Record<string, MutationTable>,
  every = 50,
): Promise<SoakReport> {
  const started = performance.now();
  closeShrinkWindow(); // no shrink allowance: only the budget's own keys
  const queue = w.attn.device.queue;
  await queue.onSubmittedWorkDone();
  const before = w.attn.stats;
  const report: SoakReport = {
    calls: 0,
    byOp: {},
    msByOp: {},
    sampled: 0,
    skipped: 0,
    pipelinesBefore: before.pipelines,
    pipelinesAfter: 0,
    liveBefore: before.liveBuffers,
    liveAfter: 0,
    pooledBefore: before.pooledBytes,
    pooledAfter: 0,
    pooledPeak: before.pooledBytes,
    seconds: 0,
    problems: [],
  };
  const gpuErrors: Promise<unknown>[] = [];
  const watch = (p: Promise<void>) =>
    gpuErrors.push(
      p.then(
        () => undefined,
        (e) => e,
      ),
    );
  const seen = new Set<string>();
  const note = (c: SoakCall, problem: string) => {
    const line = `${c.op}: ${problem}`;
    const kind = line.replace(/-?\d+ → -?\d+/g, '…'); // one line per kind of problem, whatever the counters
    if (report.problems.length < 12 && !seen.has(kind)) report.problems.push(line);
    seen.add(kind);
  };
  const arb = callArb(tables);
  for (let chunk = 0; report.calls < calls; chunk++) {
    for (const c of fc.sample(arb, { seed: seed + chunk, numRuns: 250 })) {
      if (report.calls >= calls) break;
      if (!admitted(c)) {
        report.skipped++;
        continue;
      }
      report.calls++;
      report.byOp[c.op] = (report.byOp[c.op] ?? 0) + 1;
      const t0 = performance.now();
      try {
        if (c.op === 'invalid') {
          for (const p of rejectionProblems(w, tables[c.table], c.spec))
            note(c, `${c.table} ${c.spec.kind} = ${fc.stringify(c.spec.value)}: ${p}`);
        } else if (report.calls % every === 0) {
          report.sampled++;
          await sample(w, c);
        } else fire(w, c, watch);
      } catch (error) {
        note(c, String(error).split('\n').slice(0, 4).join('\n    '));
      }
      report.msByOp[c.op] = (report.msByOp[c.op] ?? 0) + performance.now() - t0;
      if (report.calls % 200 === 0) {
        await queue.onSubmittedWorkDone();
        report.pooledPeak = Math.max(report.pooledPeak, w.attn.stats.pooledBytes);
      }
    }
  }
  await queue.onSubmittedWorkDone();
  for (const e of await Promise.all(gpuErrors)) if (e) report.problems.push(`GPU error: ${String(e)}`);
  const after = w.attn.stats;
  report.liveAfter = after.liveBuffers;
  report.pipelinesAfter = after.pipelines;
  report.pooledAfter = after.pooledBytes;
  report.pooledPeak = Math.max(report.pooledPeak, after.pooledBytes);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** The line the ring prints after the soak. */
export function describeSoak(r: SoakReport): string {
  const ms = Object.fromEntries(Object.entries(r.msByOp).map(([k, v]) => [k, Math.round(v)]));
  return (
    `[fuzz] soak: ${r.calls} calls ${JSON.stringify(r.byOp)} (ms ${JSON.stringify(ms)}), ${r.sampled} read back, ` +
    `${r.skipped} skipped (budget), ${r.seconds.toFixed(1)} s, pipelines ${r.pipelinesBefore} → ${r.pipelinesAfter}; ` +
    `liveBuffers ${r.liveBefore} → ${r.liveAfter}; pooledBytes ${r.pooledBefore} → ${r.pooledAfter} (peak ${r.pooledPeak})`
  );
}
