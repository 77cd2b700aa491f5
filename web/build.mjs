// node build.mjs OUTDIR — bundle the UI for embedding in the binary.
//
// Writes, after emptying OUTDIR:
//   OUTDIR/index.html                 references the hashed assets by absolute path
//   OUTDIR/assets/app.<hash>.js       one ES module (preact + htm + our code)
//   OUTDIR/assets/app.<hash>.css      all styles
//   OUTDIR/assets/icon.<hash>.svg     favicon
//   OUTDIR/files.txt                  every file above, relative to OUTDIR, one per line
//
// Hashed names are only known after bundling, so CMake cannot list them at configure
// time: web/embed_dist.cmake reads files.txt at build time and runs vp_embed over it.
// The same sources always give the same bytes and names (no timestamps, no absolute
// paths), so rebuilding without changes leaves the binary identical.
//
// The server sends a strict CSP (script-src 'self'; style-src 'self'): index.html has
// no inline script or style, and this script refuses to emit one.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function fail(msg) {
    process.stderr.write(`web/build.mjs: ${msg}\n`);
    process.exit(1);
}

if (process.argv.length !== 3) fail('usage: node build.mjs OUTDIR');
const outdir = resolve(process.argv[2]);
if (!existsSync(join(here, 'node_modules', 'esbuild')) ||
    !existsSync(join(here, 'node_modules', 'preact')) ||
    !existsSync(join(here, 'node_modules', 'htm')))
    fail(`${join(here, 'node_modules')} is missing or incomplete: run scripts/setup ` +
         `(or "npm ci" inside ${here})`);

// Imported only after the check above, so a missing install gets the message, not a stack.
const esbuild = await import('esbuild');

const shortHash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 12);

rmSync(outdir, { recursive: true, force: true });
mkdirSync(join(outdir, 'assets'), { recursive: true });

const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { app: 'src/main.js' },
    bundle: true,
    format: 'esm',
    splitting: false,
    minify: true,
    sourcemap: false,
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    outdir: join(outdir, 'assets'),
    entryNames: '[name].[hash]',
    assetNames: '[name].[hash]',
    charset: 'utf8',
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
});

let js = null;
let css = null;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    const rel = relative(join(outdir, 'assets'), resolve(here, file));
    if (meta.entryPoint && rel.endsWith('.js')) js = rel;
    else if (rel.startsWith('app.') && rel.endsWith('.css')) css = rel;
}
if (!js || !css) fail('esbuild did not produce app.*.js and app.*.css');

const icon = readFileSync(join(here, 'src', 'icon.svg'));
const iconName = `icon.${shortHash(icon)}.svg`;
writeFileSync(join(outdir, 'assets', iconName), icon);

const html = readFileSync(join(here, 'src', 'index.html'), 'utf8')
    .replaceAll('%APP_JS%', `/assets/${js}`)
    .replaceAll('%APP_CSS%', `/assets/${css}`)
    .replaceAll('%ICON%', `/assets/${iconName}`);
if (/%[A-Z_]+%/.test(html)) fail('src/index.html has an unknown placeholder');
if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /<style[\s>]/i.test(html) || /\sstyle=/i.test(html) ||
    /\son[a-z]+=/i.test(html))
    fail('src/index.html must not contain inline script, style or event handlers (CSP)');
writeFileSync(join(outdir, 'index.html'), html);

const files = ['index.html', `assets/${js}`, `assets/${css}`, `assets/${iconName}`];
for (const f of Object.keys(result.metafile.outputs)) {
    const rel = relative(outdir, resolve(here, f)).split('\\').join('/');
    if (!files.includes(rel)) files.push(rel); /* e.g. LEGAL.txt or fonts, if ever added */
}
for (const f of files)
    if (!/^[A-Za-z0-9._/-]+$/.test(f)) fail(`unexpected character in output name ${f}`);
writeFileSync(join(outdir, 'files.txt'), files.sort().join('\n') + '\n');

const sizes = files.map((f) => `${f} ${readFileSync(join(outdir, f)).length}`);
process.stdout.write(`web/build.mjs: ${outdir}\n  ${sizes.join('\n  ')}\n`);
