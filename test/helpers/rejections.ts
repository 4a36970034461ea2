/**
 * The one check for bad input: the call throws an AttentionError on `argument`, whose message has
 * the library's "<argument>: got …" form and every fragment; on a context, the rejected call also
 * took no buffer from the pool and compiled no pipeline (nothing was enqueued).
 */
import { expect } from 'vitest';
import { AttentionError, type AttentionContext } from '../../src/index';

/** Runs `call`, expecting an AttentionError on `argument` whose message contains `fragments`. */
export function expectRejected(call: () => unknown, argument: string, ...fragments: string[]): AttentionError {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an AttentionError').toBeInstanceOf(AttentionError);
  const error = caught as AttentionError;
  expect(error.argument).toBe(argument);
  expect(error.message.startsWith(`${argument}: got `), error.message).toBe(true);
  for (const f of fragments) expect(error.message).toContain(f);
  return error;
}

/** {@link expectRejected}, and `attn` took no buffer and compiled no pipeline for the call. */
export function expectRejectedOn(
  attn: AttentionContext,
  call: () => unknown,
  argument: string,
  ...fragments: string[]
): AttentionError {
  const before = { ...attn.stats };
  const error = expectRejected(call, argument, ...fragments);
  expect(attn.stats.liveBuffers, 'a rejected call took no buffer').toBe(before.liveBuffers);
  expect(attn.stats.pipelines, 'a rejected call compiled nothing').toBe(before.pipelines);
  return error;
}
