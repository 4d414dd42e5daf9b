export * from './key.js';
export * from './remote-signer.js';
export * from './sign-state.js';
