/**
 * The branch kinds, described once (see descriptor.ts): pure,
 * import-safe data every part of the project reads. Imports only contract/.
 */
export * from './descriptor.js';
export * from './metadata.js';
export * from './plan-config.js';
export * from './registry.js';
export * from './rendition.js';
export * from './rendition-segment.js';
export * from './segmentation.js';
export * from './states.js';
export * from './thumbnail.js';
