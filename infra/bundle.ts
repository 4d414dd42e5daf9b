import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

/** The repository root: CDK's project root for bundling, and the base of every entry path below. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The commander's Lambda entry points, relative to the repository root: one per route family, so each
 * bundle holds only what its route imports (the pilot API no chat framework or EC2 client).
 */
export const COMMANDER_ENTRIES = {
  pilot: 'commander/handlers/pilot.ts',
  slack: 'commander/handlers/slack.ts',
  telegram: 'commander/handlers/telegram.ts',
  pagerduty: 'commander/handlers/pagerduty.ts',
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
  /** What the bundle holds: npm packages and repository folders, with their bytes in the output. */
  inputs: Record<string, number>;
}

/** Where an input file comes from: its npm package, or its first two repository folders. */
function origin(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return pkg ? pkg[1]! : input.split('/').slice(0, 2).join('/');
}

/** Builds each commander Lambda bundle into `<outDir>/<name>`, as CDK would. */
export async function bundleCommander(
  outDir: string,
  entries: Partial<CommanderEntries> = COMMANDER_ENTRIES,
): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  for (const [name, entry] of Object.entries(entries) as [keyof CommanderEntries, string][]) {
    const dir = path.resolve(outDir, name);
    await mkdir(dir, { recursive: true });
    // The metafile only describes the build; the output is the same bytes CDK stages.
    const { metafile } = await build({ ...lambdaEsbuildOptions(entry, dir), metafile: true });
    const file = path.join(dir, LAMBDA_BUNDLE.outFile);
    const inputs: Record<string, number> = {};
    const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
    for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
      inputs[origin(input)] = (inputs[origin(input)] ?? 0) + bytesInOutput;
    }
    out.push({ name, file, bytes: (await stat(file)).size, inputs });
  }
  return out;
}
