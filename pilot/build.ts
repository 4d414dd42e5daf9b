/**
 * Bundles the pilot into one ESM file: `npx tsx pilot/build.ts` → dist/beam-pilot.mjs. A release
 * (pilot/release.ts) builds it stamped with its own version.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildPilot(
  outfile = path.join(root, 'dist', 'beam-pilot.mjs'),
  version?: string,
): Promise<string> {
  await build({
    entryPoints: [path.join(root, 'pilot', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // The pilot idles for months on every node: minified, its source (which V8 keeps in memory)
    // is half the size and all ASCII, about 10 MB less RSS. Names stay for errors and stack traces.
    minify: true,
    keepNames: true,
    sourcemap: false,
    legalComments: 'none',
    // Some CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __beamCreateRequire } from 'node:module'; const require = __beamCreateRequire(import.meta.url);",
    },
    // pilot/version.ts reads it; without it the bundle keeps the version in the source.
    ...(version ? { define: { BEAM_PILOT_VERSION: JSON.stringify(version) } } : {}),
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildPilot().then(
    (file) => console.log(`wrote ${file}`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
