import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes and sockets; two workers match the CI machine's cores.
    pool: 'forks',
    maxWorkers: 2,
    // The AWS SDK's notice that its 2027 releases need Node 22 (Beam's Lambdas run on 22).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
