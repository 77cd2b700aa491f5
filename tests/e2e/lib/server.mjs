// Starts the real binary for the tests: `$VP_BINARY demo --dir <fresh tmp dir> --port 0`
// (then, when configuration is asked for, `serve` on the same dir; see startServer).
// The demo prints, once, "virtportal demo ready: https://127.0.0.1:<port>/", then
// "login: admin" and "password: <pw>"; we read them from its stdout. Its stderr (the
// access log) is kept in artifacts/<name>-server.log for post-mortems.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactsDir } from './paths.mjs';

const READY = /virtportal demo ready: (https:\/\/[^\s/]+)\/?/;
const START_TIMEOUT_MS = 60000;

/* Resolves to { url, login, password, dir, stop() } once the demo is ready.
 * `set`: configuration assignments ("server.test_hooks=1"). `virtportal demo` takes
 * none, so the demo seeds the data dir (admin and password) and is stopped, then
 * `virtportal serve` runs on that dir with the assignments. */
export async function startServer(name, { set = [] } = {}) {
    const demo = await startDemo(name);
    if (!set.length) return demo;
    await demo.stopProcess();
    return startServe(name, demo, set);
}

function waitForPortFile(file, child, name) {
    return new Promise((resolve, reject) => {
        const start = Date.now();
        const tick = () => {
            if (child.exitCode !== null || child.signalCode !== null)
                return reject(new Error(`serve exited early (code ${child.exitCode}); see ${join(artifactsDir, `${name}-server.log`)}`));
            let text = '';
            try {
                text = readFileSync(file, 'utf8').trim();
            } catch {
                text = '';
            }
            if (/^\d+$/.test(text)) return resolve(Number(text));
            if (Date.now() - start > START_TIMEOUT_MS) {
                child.kill('SIGKILL');
                return reject(new Error(`serve wrote no port file after ${START_TIMEOUT_MS} ms`));
            }
            setTimeout(tick, 50);
        };
        tick();
    });
}

async function startServe(name, demo, set) {
    const bin = process.env.VP_BINARY;
    const portFile = join(demo.dir, 'e2e.port');
    rmSync(portFile, { force: true });
    const log = createWriteStream(join(artifactsDir, `${name}-server.log`), { flags: 'a' });
    const args = ['serve', '--data-dir', demo.dir, '--port', '0', '--port-file', portFile];
    for (const a of set) args.push('--set', a);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const port = await waitForPortFile(portFile, child, name);
    const host = new URL(demo.url).hostname;
    return { ...demo, url: `https://${host}:${port}`, stop: stopper(child, demo.dir, log) };
}

function stopper(child, dir, log) {
    let stopped = null;
    return () => {
        if (!stopped) {
            stopped = new Promise((resolve) => {
                if (child.exitCode !== null || child.signalCode !== null) return resolve();
                const kill = setTimeout(() => child.kill('SIGKILL'), 15000);
                child.once('exit', () => {
                    clearTimeout(kill);
                    resolve();
                });
                child.kill('SIGTERM');
            }).then(() => {
                log.end();
                if (dir) rmSync(dir, { recursive: true, force: true });
            });
        }
        return stopped;
    };
}

async function startDemo(name) {
    const bin = process.env.VP_BINARY;
    if (!bin || !existsSync(bin))
        throw new Error(`VP_BINARY must name the built virtportal binary (got ${bin || 'nothing'}); ` +
            'build it first, or run these tests through ctest');
    const dir = mkdtempSync(join(tmpdir(), 'vp-e2e-'));
    mkdirSync(artifactsDir, { recursive: true });
    const log = createWriteStream(join(artifactsDir, `${name}-server.log`));
    const child = spawn(bin, ['demo', '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.pipe(log);

    const info = await new Promise((resolve, reject) => {
        let out = '';
        const found = {};
        const timer = setTimeout(() => fail(new Error(`demo not ready after ${START_TIMEOUT_MS} ms; stdout so far:\n${out}`)),
            START_TIMEOUT_MS);
        function fail(err) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            reject(err);
        }
        child.on('error', fail);
        child.on('exit', (code, sig) => fail(new Error(`demo exited early (code ${code}, signal ${sig}); stdout:\n${out}` +
            `\nsee ${join(artifactsDir, `${name}-server.log`)}`)));
        child.stdout.on('data', (chunk) => {
            out += chunk.toString();
            log.write(chunk);
            for (const line of out.split('\n')) {
                const m = READY.exec(line);
                if (m) found.url = m[1];
                const l = /^login: (\S+)\s*$/.exec(line);
                if (l) found.login = l[1];
                const p = /^password: (\S+)\s*$/.exec(line);
                if (p) found.password = p[1];
            }
            if (found.url && found.login && found.password) {
                clearTimeout(timer);
                child.removeAllListeners('exit');
                resolve(found);
            }
        });
    });

    /* stopProcess keeps the data dir (for serve), stop removes it too */
    const stopProcess = stopper(child, null, log);
    const stop = () => stopProcess().then(() => rmSync(dir, { recursive: true, force: true }));
    return { ...info, dir, stop, stopProcess };
}
