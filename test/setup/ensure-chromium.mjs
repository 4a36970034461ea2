#!/usr/bin/env node
// Runs before `vitest run` (npm test). The browser ring needs a Chromium, and the Node ring needs
// the SwiftShader Vulkan driver that Debian's chromium package ships in /usr/lib/chromium.
// Installs the package when it can (root with apt-get), otherwise says exactly what to do.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function log(line) {
  console.log(`[ensure-chromium] ${line}`);
}

function fail(lines) {
  for (const line of lines) console.error(`[ensure-chromium] ${line}`);
  process.exit(1);
}

function hasApt() {
  return spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function run(cmd, args) {
  log(`running: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) fail([`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}).`]);
}

/** Installs Debian's chromium with apt-get when running as root; otherwise prints the command and exits 1. */
function installChromium(why) {
  if (process.platform === 'linux' && isRoot() && hasApt()) {
    log(`${why}; installing Debian's chromium package.`);
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', 'chromium']);
    return;
  }
  fail([
    `${why}.`,
    'Install it with:   sudo apt-get install chromium',
    'or point the tests at another Chromium/Chrome:   CHROME_PATH=/path/to/chrome npm test',
  ]);
}

function hasGpuDeviceNode() {
  try {
    if (readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) return true;
  } catch {
    /* no DRM devices */
  }
  return existsSync('/dev/nvidia0');
}

const chromePath = process.env.CHROME_PATH;
if (chromePath) {
  if (!existsSync(chromePath))
    fail([`CHROME_PATH=${chromePath} does not exist. Fix the path, or unset CHROME_PATH to use ${DEFAULT_CHROMIUM}.`]);
  log(`browser: CHROME_PATH=${chromePath}`);
} else if (existsSync(DEFAULT_CHROMIUM)) {
  log(`browser: ${DEFAULT_CHROMIUM}`);
} else {
  installChromium(`no browser for the browser ring: ${DEFAULT_CHROMIUM} is missing and CHROME_PATH is unset`);
  if (!existsSync(DEFAULT_CHROMIUM)) fail([`apt-get installed chromium but ${DEFAULT_CHROMIUM} is still missing.`]);
  log(`browser: ${DEFAULT_CHROMIUM}`);
}

// The Node ring's Dawn needs a Vulkan driver; without a GPU that is Chromium's SwiftShader.
if (
  process.platform === 'linux' &&
  !process.env.VK_ICD_FILENAMES &&
  !process.env.VK_DRIVER_FILES &&
  !existsSync(SWIFTSHADER_ICD)
) {
  const why = `${SWIFTSHADER_ICD} is missing (Dawn in the Node ring uses it when there is no GPU driver)`;
  if (hasGpuDeviceNode()) log(`${why}; a GPU device node exists, so the system Vulkan driver will be used.`);
  else {
    installChromium(why);
    if (!existsSync(SWIFTSHADER_ICD))
      fail([
        `chromium is installed but ${SWIFTSHADER_ICD} is still missing; set VK_ICD_FILENAMES to a Vulkan ICD that Dawn can use.`,
      ]);
  }
}
if (process.env.VK_ICD_FILENAMES)
  log(`Vulkan driver for the Node ring: VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`);
else if (existsSync(SWIFTSHADER_ICD)) log(`SwiftShader Vulkan driver: ${SWIFTSHADER_ICD}`);
