import { existsSync } from 'node:fs';
import path from 'node:path';
import { type BundlingOptions, DockerImage } from 'aws-cdk-lib';

/**
 * Bundling that always runs on this machine (there is no Docker here). CDK calls `build` only for stacks
 * it bundles: a stack outside `aws:cdk:bundling-stacks` (tests, `cdk deploy OtherStack`) never runs it,
 * so its inputs need not exist then. `build` throws when it cannot produce the output, which stops
 * the synth with its message; the image is required by the type and never used.
 */
export function localBundling(build: (outputDir: string) => void): BundlingOptions {
  return {
    image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
    local: {
      tryBundle(outputDir) {
        build(outputDir);
        return true;
      },
    },
  };
}

/** Throws, naming the missing files relative to `root` and how to produce them, unless all exist. */
export function requireFiles(root: string, files: readonly string[], hint: string): void {
  const missing = files.filter((file) => !existsSync(path.resolve(root, file)));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: ${hint}`);
}
