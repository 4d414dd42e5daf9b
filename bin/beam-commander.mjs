#!/usr/bin/env node
// Runs commander/cli.ts from source through tsx (the bundled build is `dist/`; see the README).
import { register } from 'tsx/esm/api';

register();
await import('../commander/cli.ts');
