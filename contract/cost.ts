import * as z from 'zod/mini';

/**
 * The published shape of a manifest's cost figures and the stack → aggregator
 * COST_PROFILE. The model that computes them (prices, usage counting) is the
 * aggregator's: lambdas/aggregate/cost.ts.
 */

export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const FunctionSizingSchema = z.object({
  memoryMiB: z.int().check(z.positive()),
  architecture: z.enum(ARCHITECTURES),
});
export type FunctionSizing = z.infer<typeof FunctionSizingSchema>;

/** The sizing of every function a video's workflow invokes; the stack writes it from the synthesized functions. */
export const CostProfileSchema = z.object({
  probe: FunctionSizingSchema,
  plan: FunctionSizingSchema,
  aggregate: FunctionSizingSchema,
  /** One function per branch kind, by kind name. */
  kinds: z.record(z.string(), FunctionSizingSchema),
});
export type CostProfile = z.infer<typeof CostProfileSchema>;

/** Env var of the aggregator that carries the CostProfile as JSON. */
export const COST_PROFILE_ENV = 'COST_PROFILE';

const usdLine = z.object({ count: z.int().check(z.nonnegative()), usd: z.number() });

export const LambdaCostSchema = z.object({
  /** `probe`, `plan`, `aggregate`, or a branch kind. */
  function: z.string(),
  /** Null when the profile does not know the function (its compute is then not priced). */
  memoryMiB: z.nullable(z.int()),
  architecture: z.nullable(z.enum(ARCHITECTURES)),
  invocations: z.int().check(z.nonnegative()),
  /** Invocations without a measured duration (timed out, crashed, skipped): requests priced, compute not. */
  unmeasured: z.int().check(z.nonnegative()),
  billedMs: z.int().check(z.nonnegative()),
  gbSeconds: z.number().check(z.nonnegative()),
  computeUsd: z.number().check(z.nonnegative()),
});
export type LambdaCost = z.infer<typeof LambdaCostSchema>;

export const CostBreakdownSchema = z.object({
  currency: z.literal('USD'),
  region: z.string(),
  pricesAsOf: z.string(),
  lambda: z.array(LambdaCostSchema),
  stateTransitions: usdLine,
  requests: z.object({
    lambda: usdLine,
    sqs: usdLine,
    sns: usdLine,
    s3Put: usdLine,
    s3Get: usdLine,
  }),
});
export type CostBreakdown = z.infer<typeof CostBreakdownSchema>;
