export * from './common.js';
export * from './p2p.js';
export * from './config.js';
export * from './actions.js';
export * from './report.js';
export * from './lease.js';
export * from './reply.js';
export * from './signing.js';
