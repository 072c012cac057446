/** Public surface of the resource model (docs/resources.md). Pure: no I/O; imports nothing internal but ../errors.js. */
export * from './types.js';
export { nextGeneration, withNextGeneration } from './generation.js';
export { parseDuration, tryParseDuration, formatDuration, DURATION_SYNTAX } from './duration.js';
export { ResourceError, isResourceError, formatIssue, type ResourceIssue } from './errors.js';
export {
  validateResource,
  validateResourceOf,
  checkResource,
  resourceKey,
  describeValue,
  type CheckResult,
} from './validate.js';
export {
  parseResources,
  parseDocuments,
  toYaml,
  resourcesToYaml,
  type ParsedDocuments,
  type ParseOptions,
  type RejectedDocument,
} from './parse.js';
