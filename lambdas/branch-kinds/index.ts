export * from './kind.js';
export * from './metadata.js';
export * from './registry.js';
export * from './rendition.js';
export * from './rendition-segment.js';
export * from './segmentation.js';
export * from './thumbnail.js';
