/// <reference path="./wgsl-reflect.d.ts" />
/** The one module that imports wgsl_reflect. Each shader source is parsed once, at first use. */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

const parsed = new Map<string, WgslReflect>();

/** Reflection of a WGSL source, cached by source text (parsing costs milliseconds). */
export function reflectShader(source: string): WgslReflect {
  let reflection = parsed.get(source);
  if (!reflection) {
    reflection = new WgslReflect(source);
    parsed.set(source, reflection);
  }
  return reflection;
}

export type { WgslReflect };
