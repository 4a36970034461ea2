#!/usr/bin/env node
// Runs before the rings (npm test): `npm run typecheck` and `npm run format:check` side by side,
// each on a core of its own (about 20 s each on a 2-core machine, one after the other before).
// Each one's output is printed whole when it ends, so the two never interleave; fails if either does.
import { spawn } from 'node:child_process';

const SCRIPTS = ['typecheck', 'format:check'];

/** Runs `npm run <script>`, collecting stdout and stderr in the order they come. */
function run(script) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', (e) => resolve({ script, code: 1, output: `${e.message}\n` }));
    child.on('close', (code) => resolve({ script, code: code ?? 1, output: Buffer.concat(chunks).toString() }));
  });
}

const t0 = performance.now();
const results = await Promise.all(
  SCRIPTS.map((s) =>
    run(s).then((r) => {
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `[static-checks] npm run ${s}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${seconds} s`,
      );
      if (r.output.trim()) process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
      return r;
    }),
  ),
);
if (results.some((r) => r.code !== 0)) process.exit(1);
