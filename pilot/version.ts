/** Set by pilot/build.ts (esbuild `define`) when a release of another version is built. */
declare const BEAM_PILOT_VERSION: string | undefined;

/** The pilot's version, reported in every report and enrollment; a release stamps its own. */
export const PILOT_VERSION: string = typeof BEAM_PILOT_VERSION === 'string' ? BEAM_PILOT_VERSION : '0.1.0';
