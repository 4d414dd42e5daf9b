/**
 * Loads AWS SDK v3 packages with `require`. The SDK ships CommonJS; an ES module `import` of it goes
 * through Node's CommonJS interop (module format detection, export detection, an ESM wrapper per
 * module), which costs a Lambda cold start tens of milliseconds of CPU more than `require` does
 * (bench: Lambda cold init). Callers cast to the package's own types.
 */
import { createRequire } from 'node:module';

export const requireSdk: (name: `@aws-sdk/${string}`) => unknown = createRequire(import.meta.url);
