/**
 * The one contract module: schemas, the S3 layout, the state machine's field
 * names, error names, upload metadata keys and the stack name. The Lambdas,
 * the constructs, the CLI and the tools all import from here.
 */
export * from './admission.js';
export * from './cost.js';
export * from './errors.js';
export * from './layout.js';
export * from './metadata.js';
export * from './metrics.js';
export * from './overflow.js';
export * from './policy.js';
export * from './schemas.js';
export * from './stack.js';
export * from './state.js';
export * from './tenant.js';
export * from './transfer.js';
export * from './verdict.js';
export * from './video-id.js';
