/** The pilot's version, reported in every report and enrollment. */
export const PILOT_VERSION = '0.1.0';
