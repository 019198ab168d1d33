import { isDeepStrictEqual } from 'node:util';
import { Annotations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The warning id a user value that replaces a secure default is reported under. */
export const SECURE_DEFAULT_OVERRIDDEN = 'fan-out:SecureDefaultOverridden';

export interface MergePropsOptions<T extends object> {
  /** Where the warning is attached (the construct that owns the props). */
  readonly scope: IConstruct;
  /** Names the props in messages, e.g. `queueProps`. */
  readonly label: string;
  /** Secure defaults: a user may replace them, with a synth-time warning. */
  readonly defaults: Partial<T>;
  /** What the user passed. @default - nothing */
  readonly user?: Partial<T>;
  /** What the construct needs to work: a user value for these keys is an error. @default - nothing */
  readonly required?: Partial<T>;
}

/**
 * Solutions Constructs' merge order: secure defaults ← user props ← required
 * props. A user value that differs from a secure default is kept (loosening a
 * default can be deliberate) but reported with `Annotations.addWarningV2`, so it
 * shows in `cdk synth` output and cannot go unnoticed. A user value for a
 * required key is rejected instead of silently dropped: the construct would
 * otherwise ignore it.
 */
export const mergeProps = <T extends object>(options: MergePropsOptions<T>): T => {
  const user = definedEntries(options.user ?? {});
  const required = options.required ?? {};
  const clashes = Object.keys(user).filter((key) => key in required);
  if (clashes.length > 0) {
    throw new Error(
      `${options.scope.node.path}: ${options.label}.${clashes.join(', ')} ` +
        `${clashes.length === 1 ? 'is' : 'are'} set by the construct and cannot be overridden`
    );
  }
  for (const [key, value] of Object.entries(user)) {
    const secure = (options.defaults as Record<string, unknown>)[key];
    if (secure !== undefined && !isDeepStrictEqual(secure, value)) {
      Annotations.of(options.scope).addWarningV2(
        SECURE_DEFAULT_OVERRIDDEN,
        `${options.label}.${key} overrides the secure default (${describe(secure)} → ${describe(value)})`
      );
    }
  }
  return { ...options.defaults, ...user, ...required } as T;
};

// `{ timeout: undefined }` means "not set", as everywhere in CDK props.
const definedEntries = (props: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));

const describe = (value: unknown): string => {
  if (value !== null && typeof value === 'object') {
    const text = String(value);
    return text === '[object Object]' ? value.constructor.name : text;
  }
  return JSON.stringify(value);
};
