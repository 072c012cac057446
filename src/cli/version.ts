/** The CLI's version: Caravan's (src/version.ts). */
export { VERSION } from '../version.js';
