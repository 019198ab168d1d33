import type * as z from 'zod/mini';
import type { Branch, BranchRole } from '../contract/index.js';

/**
 * What one branch kind is, described once: its branch schema, the Lambda
 * function that runs it, its default place in the fan-out policy, and what
 * the pipeline does with it. Every consumer reads this: the stack (functions,
 * layer, policy, playability, the Segments map), the Lambdas (schema union,
 * dispatch), the cost model (states and invocations), the CLI and the console
 * (state names).
 *
 * Pure data and zod schemas: importing a descriptor creates no AWS client and
 * reads no environment, so the CDK app can import every kind. What a kind
 * does (its plan and its ffmpeg work) lives with the Lambdas, in
 * lambdas/branch-kinds/work/<kind>.ts, which spreads this descriptor.
 */
export interface KindDescriptor<S extends z.ZodMiniType<Branch> = z.ZodMiniType<Branch>> {
  /** The `kind` value in plans, manifests, metrics and state names. */
  readonly kind: string;
  /** The whole branch: `{ id, kind: <literal>, …params }`. */
  readonly schema: S;
  /** Sizing of the Lambda function that runs this kind (one function per kind). */
  readonly sizing: BranchSizing;
  /**
   * Where the kind's branches run: `fan-out`, routed by the FanOut Map to the
   * kind's task state; or `segments`, one item of the `Segments` Distributed
   * Map before the FanOut (never routed by the FanOut, never in the policy).
   */
  readonly runBy: 'fan-out' | 'segments';
  /**
   * The kind's entry in the fan-out policy (contract/policy.ts) unless the
   * stack overrides it: a role (and optionally a timeout), or the kind it is
   * the fallback of. No kind is silently a secondary: each says what it is.
   */
  readonly policy: KindPolicyDefaults;
  /**
   * True when a delivered branch of this kind is a video variant that makes
   * the video playable: its function writes or grows the early multivariant
   * playlist and may announce VideoPlayable (docs/hls.md, "Playable early").
   */
  readonly playable: boolean;
}

/** A role, or the origin this kind stands in for. */
export type KindPolicyDefaults =
  | { readonly role: BranchRole; readonly timeoutSeconds?: number; readonly fallbackFor?: never }
  | { readonly fallbackFor: string; readonly role?: never; readonly timeoutSeconds?: number };

export interface BranchSizing {
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  readonly ephemeralStorageMiB: number;
  /** True when the kind runs ffmpeg/ffprobe: the function gets the layer and x86_64. */
  readonly usesFfmpeg: boolean;
}

/** Declares a kind: checks the descriptor and keeps its `kind` literal (for KindName). */
export const defineKind = <const K extends string, S extends z.ZodMiniType<Branch>>(
  descriptor: KindDescriptor<S> & { readonly kind: K }
): KindDescriptor<S> & { readonly kind: K } => descriptor;
