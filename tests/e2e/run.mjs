// node run.mjs — runs the e2e suite (node --test) with checks that fail loudly:
// playwright-core installed, VP_BINARY built, Chromium present.
//   VP_BINARY=/path/to/build/virtportal node run.mjs [test files…]
// Registered in ctest as "e2e" (tests/e2e/CMakeLists.txt), which sets VP_BINARY.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { e2eDir } from './lib/paths.mjs';

const chromium = process.env.VP_CHROMIUM || '/usr/bin/chromium';
const problems = [];
if (!existsSync(join(e2eDir, 'node_modules', 'playwright-core')))
    problems.push(`${join(e2eDir, 'node_modules')} is missing: run scripts/setup (or "npm ci" inside ${e2eDir})`);
if (!process.env.VP_BINARY || !existsSync(process.env.VP_BINARY))
    problems.push(`VP_BINARY must point at the built binary (got ${process.env.VP_BINARY || 'nothing'})`);
if (!existsSync(chromium)) problems.push(`${chromium} is missing: run scripts/setup (Debian package chromium)`);
if (problems.length) {
    for (const p of problems) process.stderr.write(`e2e: ${p}\n`);
    process.exit(1);
}

const files = process.argv.length > 2 ? process.argv.slice(2)
    : readdirSync(e2eDir).filter((f) => f.endsWith('.test.mjs')).sort();
const r = spawnSync(process.execPath, ['--test', ...files], { cwd: e2eDir, stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
