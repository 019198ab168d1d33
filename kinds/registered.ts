/**
 * Every branch kind: one line each, the line that registers it. A kind is
 * added by its module (kinds/<kind>.ts) and one `export … from` line here;
 * registry.ts reads this module's namespace, so nothing else lists kinds.
 * Only descriptors are exported here: every export is taken as a kind.
 */
export { metadataKind } from './metadata.js';
export { renditionFallbackKind, renditionKind } from './rendition.js';
export { renditionSegmentKind } from './rendition-segment.js';
export { thumbnailKind } from './thumbnail.js';
