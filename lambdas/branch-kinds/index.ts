export * from './kind.js';
export * from './registry.js';
export * from './segmentation.js';
export * from './work/metadata.js';
export * from './work/rendition.js';
export * from './work/rendition-fallback.js';
export * from './work/rendition-segment.js';
export * from './work/thumbnail.js';
