// The package's `main` is CommonJS inside an ES-module package; its self-contained ES module works
// everywhere (Node ESM, Vitest, Vite), but ships no typings of its own under that subpath.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
