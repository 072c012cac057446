/** Caravan's version, of the router and the CLI alike (kept equal to package.json's). */
export const VERSION = '0.1.0';
