/** ChatOps: Beam's command language over any chat transport. The commander wires `ports.ts` to its application API. */
export * from './access.js';
export * from './chatops.js';
export * from './commands.js';
export * from './memory.js';
export type * from './ports.js';
export * from './render.js';
