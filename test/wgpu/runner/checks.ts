/**
 * The wgpu ring's checks that are not case tables: shader compiles through naga, the bad-input
 * matrix without vitest, and device loss. Each returns `Check`s; none throws.
 */
import { BAD_INPUT, makeRejectionEnv, type Rejection } from '../../bad-input';
import type { Attention, Lib } from '../../helpers/case-runners';
import { computeEntryPoints, LIFECYCLE_CHECKS, type Check } from '../protocol';

const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/**
 * Compiles `source` as one module and a pipeline per compute entry point (default overrides,
 * layout 'auto') inside validation error scopes: wgpu reports naga's parse and validation errors
 * there, and at pipeline creation its SPIR-V backend's. One check per entry point.
 */
export async function compileShader(device: GPUDevice, id: string, source: string): Promise<Check[]> {
  const t0 = performance.now();
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: source, label: id });
  const moduleError = await device.popErrorScope();
  let notes: string[] = [];
  try {
    const info = await module.getCompilationInfo();
    notes = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
  } catch {
    /* getCompilationInfo is optional for this check: the error scope carries the error */
  }
  const moduleMs = performance.now() - t0;
  const checks: Check[] = [];
  for (const entryPoint of computeEntryPoints(source)) {
    const t1 = performance.now();
    const failures = [...(moduleError ? [`module: ${moduleError.message}`] : []), ...notes];
    device.pushErrorScope('validation');
    try {
      await device.createComputePipelineAsync({
        label: `${id} ${entryPoint}`,
        layout: 'auto',
        compute: { module, entryPoint },
      });
    } catch (e) {
      failures.push(`pipeline: ${message(e)}`);
    }
    const pipelineError = await device.popErrorScope();
    if (pipelineError) failures.push(`pipeline: ${pipelineError.message}`);
    const ms = moduleMs + performance.now() - t1;
    const name = `${id} ${entryPoint}`;
    checks.push(failures.length ? { name, ok: false, message: failures.join('\n'), ms } : { name, ok: true, ms });
  }
  if (checks.length === 0) checks.push({ name: id, ok: false, message: 'no @compute entry point found' });
  return checks;
}

/** The argument, message form and fragments of the AttentionError, and nothing enqueued. */
function checkRejection(lib: Lib, attn: Attention, r: Rejection): string | undefined {
  const before = { ...attn.stats };
  let caught: unknown;
  try {
    r.call();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof lib.AttentionError))
    return `expected an AttentionError on ${r.argument}, got ${message(caught)}`;
  if (caught.argument !== r.argument) return `argument '${caught.argument}', expected '${r.argument}'`;
  if (!caught.message.startsWith(`${r.argument}: got `))
    return `message not in the "<argument>: got" form: ${caught.message}`;
  const missing = r.fragments.filter((f) => !caught.message.includes(f));
  if (missing.length) return `message lacks ${missing.map((f) => `'${f}'`).join(', ')}: ${caught.message}`;
  if (attn.stats.liveBuffers !== before.liveBuffers) return `the rejected call took a buffer: ${caught.message}`;
  if (attn.stats.pipelines !== before.pipelines) return `the rejected call compiled a pipeline: ${caught.message}`;
  return undefined;
}

/** test/bad-input.ts on `attn`, tensors of `other` as the foreign ones. */
export function badInput(lib: Lib, attn: Attention, other: Attention): Check[] {
  const env = makeRejectionEnv(attn, other);
  try {
    return BAD_INPUT.map((c) => {
      const name = `${c.group} rejects bad input: ${c.name}`;
      try {
        const failures = c.rejections(env).flatMap((r) => checkRejection(lib, attn, r) ?? []);
        return failures.length ? { name, ok: false, message: failures.join('\n') } : { name, ok: true };
      } catch (e) {
        return { name, ok: false, message: `threw while building the case: ${message(e)}` };
      }
    });
  } finally {
    env.dispose();
  }
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

/** Runs `body`; a throw or a returned string fails the check. */
async function check(name: string, body: () => Promise<string | undefined> | string | undefined): Promise<Check> {
  try {
    const failure = await body();
    return failure ? { name, ok: false, message: failure } : { name, ok: true };
  } catch (e) {
    return { name, ok: false, message: `threw: ${message(e)}` };
  }
}

/**
 * test/node/lifecycle.test.ts's device loss, on a device the test owns: work in flight, then
 * `device.destroy()`; then errors.test.ts's destroyed context. Names: LIFECYCLE_CHECKS.
 */
export async function deviceLoss(lib: Lib, adapter: GPUAdapter): Promise<Check[]> {
  const [inFlight, lost, after, destroyed] = LIFECYCLE_CHECKS;
  const own = await adapter.requestDevice();
  const ctx = await lib.createAttention({ device: own });
  const shape = [1, 4, 64, 32];
  const q = ctx.tensor(
    Float32Array.from({ length: 4 * 64 * 32 }, (_, i) => Math.sin(i)),
    shape,
  );
  const isLost = (e: unknown) => e instanceof lib.DeviceLostError;
  const checks: Check[] = [];
  checks.push(
    await check(inFlight, async () => {
      const out = ctx.sdpa(q, q, q, { causal: true });
      const reads = [out.read(), q.read()].map(rejection);
      own.destroy();
      const during = ctx.linear(ctx.tensor(new Float32Array(8), [2, 4]), ctx.tensor(new Float32Array(12), [3, 4]));
      const errors = await Promise.all([...reads, rejection(during.read())]);
      const wrong = errors.filter((e) => !isLost(e));
      return wrong.length ? `not DeviceLostError: ${wrong.map(message).join('; ')}` : undefined;
    }),
  );
  checks.push(
    await check(lost, async () => {
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 10_000));
      const info = await Promise.race([own.lost, timeout]);
      if (info === 'timeout') return 'device.lost did not resolve within 10 s of device.destroy()';
      return ctx.alive ? 'ctx.alive is still true' : undefined;
    }),
  );
  checks.push(
    await check(after, async () => {
      const read = await rejection(q.read());
      if (!isLost(read)) return `q.read() gave ${message(read)}`;
      const calls: Array<[string, () => unknown]> = [
        ['sdpa', () => ctx.sdpa(q, q, q)],
        ['sdpaNaive', () => ctx.sdpaNaive(q, q, q)],
        ['neighborhood1d', () => ctx.neighborhood1d(q, q, q, { kernel: 3 })],
        ['tensor', () => ctx.tensor([1], [1])],
        ['mask', () => ctx.mask([1], [1])],
      ];
      const wrong = calls.flatMap(([what, call]) => {
        try {
          call();
          return [`${what} did not throw`];
        } catch (e) {
          return isLost(e) ? [] : [`${what}: ${message(e)}`];
        }
      });
      return wrong.length ? wrong.join('; ') : undefined;
    }),
  );
  ctx.destroy();
  checks.push(
    await check(destroyed, async () => {
      const c = await lib.createAttention();
      const t = c.tensor(new Float32Array(4), [1, 1, 2, 2]);
      c.destroy();
      if (c.alive) return 'alive after destroy()';
      const errors: unknown[] = [];
      for (const call of [() => c.sdpa(t, t, t), () => c.tensor([1], [1])]) {
        try {
          call();
          errors.push('no throw');
        } catch (e) {
          errors.push(e);
        }
      }
      if (!errors.every(isLost)) return `not DeviceLostError: ${errors.map(message).join('; ')}`;
      return /createAttention/.test(message(errors[1])) ? undefined : `does not say what to do: ${message(errors[1])}`;
    }),
  );
  return checks;
}
