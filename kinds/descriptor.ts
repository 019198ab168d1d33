import type * as z from 'zod/mini';
import type { Branch, BranchRole, ProbeResult } from '../contract/index.js';
import type { PlanConfig } from './plan-config.js';

/**
 * What one branch kind is, described once: its branch schema, the Lambda
 * function that runs it, its default place in the fan-out policy, and what
 * the pipeline does with it. Every consumer reads this: the stack (functions,
 * layer, policy, playability, the Segments map), the Lambdas (schema union,
 * dispatch), the cost model (states and invocations), the CLI and the console
 * (state names).
 *
 * Pure data and zod schemas: importing a descriptor creates no AWS client and
 * reads no environment, so the CDK app can import every kind.
 *
 * What a kind does lives in one of two places. A kind whose work is one
 * ffmpeg run declares it here, as data: `plan` and `command` (both pure); the
 * Lambdas' generic runner (lambdas/branch-kinds/command-work.ts) spawns the
 * command and uploads its outputs, so the kind is this one module and one
 * registry line. A kind whose work is more than one command keeps it with the
 * Lambdas, in lambdas/branch-kinds/work/<kind>.ts, which spreads this
 * descriptor; such a kind declares neither `plan` nor `command` here.
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
  /**
   * Where the kind's branches come in the plan, lower first (ties by kind name).
   * Order is behaviour: sequential mode runs the branches one at a time in plan
   * order and stops at the first failure, so cheap independent work (thumbnails)
   * goes before the primary rendition, as it always has.
   * @default 100 - after the built-in kinds
   */
  readonly planOrder?: number;
  /**
   * The branches of this kind for one video, for a kind declared by its
   * `command`. Pure: the same probe and configuration always give the same
   * branches, so a retried Plan step cannot change the fan-out.
   * @default - none: the kind's work/ module plans it
   */
  plan?(probe: ProbeResult, config: PlanConfig): z.infer<S>[];
  /**
   * The kind's whole work as one ffmpeg run, for a kind with no work/ module.
   * Pure: it builds arguments, it runs nothing. (A method, like BranchKind's
   * run, so a kind's narrower branch type still fits the registry's list.)
   * @default - none: the kind's work/ module runs it
   */
  command?(context: CommandContext<z.infer<S>>): KindCommand;
}

/** What a kind's `command` is built from. */
export interface CommandContext<B extends Branch = Branch> {
  readonly branch: B;
  /** The probe's findings (no branch probes the source again). */
  readonly probe: ProbeResult;
  /**
   * The source, as ffmpeg reads it (a presigned URL in Lambda, a path in
   * tests): pass it as `-i input`. The runner puts the options a URL needs
   * (reconnects, the source's pinned ETag) before the arguments, so they
   * apply to the first `-i`, which must be this one.
   */
  readonly input: string;
  /**
   * The local path ffmpeg writes the output `name` to, in the branch's private
   * work directory. `name` is a plain file name (`waveform.png`); anything
   * else (a separator, `..`) is refused.
   */
  readonly out: (name: string) => string;
}

/** One ffmpeg run: its arguments and the files it leaves for publishing. */
export interface KindCommand {
  /** ffmpeg's arguments after its global options (`-nostdin -v error -y`). */
  readonly args: readonly string[];
  /**
   * Every file the run writes, keyed by the `name` given to `out`: each must
   * exist and be non-empty afterwards, or the branch fails with a
   * MediaToolError. Each is uploaded to `publishAs`, a path relative to the
   * video's outputs (contract's artifactKey), and listed in the manifest.
   */
  readonly outputs: Readonly<
    Record<string, { readonly contentType: string; readonly publishAs: string }>
  >;
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
