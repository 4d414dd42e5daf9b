import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

/** The repository root: CDK's project root for bundling, and the base of every entry path below. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The commander's Lambda entry points, relative to the repository root. */
export const COMMANDER_ENTRIES = {
  http: 'commander/handlers/http.ts',
  tick: 'commander/handlers/tick.ts',
} as const;
export type CommanderEntries = Record<keyof typeof COMMANDER_ENTRIES, string>;

/**
 * How a commander Lambda is bundled: the one source for both NodejsFunction's `bundling` props and
 * `bundleCommander`, so `npm run bench` measures exactly what CDK deploys.
 * ESM output needs `require` for the CommonJS dependencies esbuild inlines (e.g. `require('crypto')`);
 * the banner provides it. The Lambda Node.js runtime ships AWS SDK v3, so it is not bundled.
 */
export const LAMBDA_BUNDLE = {
  target: 'node22',
  outFile: 'index.mjs',
  minify: true,
  sourceMap: true,
  externalModules: ['@aws-sdk/*'],
  mainFields: ['module', 'main'],
  banner:
    "import { createRequire as __beamCreateRequire } from 'node:module';const require = __beamCreateRequire(import.meta.url);",
} as const;

/**
 * The esbuild options equivalent to the command line CDK's NodejsFunction runs for LAMBDA_BUNDLE
 * (`esbuild --bundle entry --target --platform=node --format=esm --outfile --minify --sourcemap
 * --external:… --banner:js=… --main-fields=…`), with the repository root as working directory.
 */
export function lambdaEsbuildOptions(entry: string, outDir: string): BuildOptions {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    bundle: true,
    target: LAMBDA_BUNDLE.target,
    platform: 'node',
    format: 'esm',
    outfile: path.join(outDir, LAMBDA_BUNDLE.outFile),
    minify: LAMBDA_BUNDLE.minify,
    sourcemap: LAMBDA_BUNDLE.sourceMap,
    external: [...LAMBDA_BUNDLE.externalModules],
    banner: { js: LAMBDA_BUNDLE.banner },
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    logLevel: 'silent',
  };
}

export interface BundleFile {
  name: keyof CommanderEntries;
  /** Absolute path of the bundle (`<outDir>/<name>/index.mjs`); its source map sits next to it. */
  file: string;
  bytes: number;
}

/** Builds the http and tick Lambda bundles into `<outDir>/http` and `<outDir>/tick`, as CDK would. */
export async function bundleCommander(
  outDir: string,
  entries: CommanderEntries = COMMANDER_ENTRIES,
): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  for (const name of Object.keys(entries) as (keyof CommanderEntries)[]) {
    const dir = path.resolve(outDir, name);
    await mkdir(dir, { recursive: true });
    await build(lambdaEsbuildOptions(entries[name], dir));
    const file = path.join(dir, LAMBDA_BUNDLE.outFile);
    out.push({ name, file, bytes: (await stat(file)).size });
  }
  return out;
}
