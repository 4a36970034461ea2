/**
 * Packs a uniform struct by member name, at the offsets reflection found in the shader.
 * Fails when a member has no value or a value has no member, so layout drift cannot go unnoticed.
 */
import type { UniformLayout } from './shader-layout';

/** Scalars, or 2/4-element arrays for vec2/vec4 members. */
export type UniformValues = Record<string, number | readonly number[]>;

export function packUniforms(layout: UniformLayout, values: UniformValues): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  const view = new DataView(bytes);
  for (const name of Object.keys(values)) {
    if (!layout.members.has(name)) throw new Error(`${layout.structName} has no member '${name}'`);
  }
  for (const member of layout.members.values()) {
    const value = values[member.name];
    if (value === undefined) throw new Error(`${layout.structName}.${member.name} has no value`);
    writeMember(view, member.offset, member.type, value, `${layout.structName}.${member.name}`);
  }
  return bytes;
}

function scalarKind(type: string): { kind: 'f32' | 'u32' | 'i32'; count: number } {
  const vec = /^vec([234])<(f32|u32|i32)>$/.exec(type);
  if (vec) return { kind: vec[2] as 'f32' | 'u32' | 'i32', count: Number(vec[1]) };
  if (type === 'f32' || type === 'u32' || type === 'i32') return { kind: type, count: 1 };
  throw new Error(`uniform member type '${type}' is not supported (use scalars, vec2<T> or vec4<T>)`);
}

function writeMember(
  view: DataView,
  offset: number,
  type: string,
  value: number | readonly number[],
  where: string,
): void {
  const { kind, count } = scalarKind(type);
  const parts = typeof value === 'number' ? [value] : value;
  if (parts.length !== count) throw new Error(`${where} (${type}) needs ${count} values, got ${parts.length}`);
  parts.forEach((x, i) => {
    const at = offset + 4 * i;
    if (kind === 'f32') view.setFloat32(at, x, true);
    else if (kind === 'u32') {
      if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`${where} = ${x} is not a u32`);
      view.setUint32(at, x, true);
    } else {
      if (!Number.isInteger(x) || x < -0x80000000 || x > 0x7fffffff) throw new Error(`${where} = ${x} is not an i32`);
      view.setInt32(at, x, true);
    }
  });
}
