#!/usr/bin/env node
// Runs devnet/cli.ts from source through tsx (the bundled build is `dist/`; see the README).
import { register } from 'tsx/esm/api';

register();
await import('../devnet/cli.ts');
