export * from './kind.js';
export * from './metadata.js';
export * from './registry.js';
export * from './rendition.js';
export * from './thumbnail.js';
