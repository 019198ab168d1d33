import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { STACK_NAME } from '../../contract/index.js';

/**
 * Where the CLI finds the deployed stack: the JSON written by
 * `cdk deploy --outputs-file` (or by `npm run local`), shaped
 * `{ "<StackName>": { "UploadBucketName": ..., "OutputBucketName": ..., "StateMachineArn": ... } }`.
 */

/** An expected, user-facing failure: printed as one line, no stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1
  ) {
    super(message);
  }
}

export const DEFAULT_OUTPUTS_FILES = ['.local/outputs.json', 'cdk-outputs.json'] as const;
export const DEFAULT_STACK = STACK_NAME;

export interface StackOutputs {
  stackName: string;
  /** The outputs file the values came from (absolute path). */
  file: string;
  uploadBucket: string;
  outputBucket: string;
  stateMachineArn: string;
  /**
   * Origin of the local endpoint the stack lives on, read from its queue URLs
   * (`http://127.0.0.1:4566/000000000000/...` on the local runtime and
   * LocalStack; `https://sqs.<region>.amazonaws.com/...` on AWS).
   */
  localEndpoint?: string;
  /** Every `…QueueUrl` output by name (`redrive dlq` finds the DLQs from them). */
  queueUrls?: Record<string, string>;
}

const REQUIRED = {
  uploadBucket: 'UploadBucketName',
  outputBucket: 'OutputBucketName',
  stateMachineArn: 'StateMachineArn',
} as const;

const HOW_TO_CREATE =
  '`npm run local` writes .local/outputs.json; for AWS run `cdk deploy --outputs-file cdk-outputs.json`';

export type ReadText = (path: string) => string | undefined;

const readIfExists: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read outputs file ${path}: ${(err as Error).message}`);
  }
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Picks the stack: the named one, else the only one, else `VideoPipeline`. */
export const pickStack = (
  doc: Record<string, unknown>,
  file: string,
  stack: string | undefined
): [string, Record<string, unknown>] => {
  const names = Object.keys(doc).filter((k) => isRecord(doc[k]));
  const name =
    stack ?? (names.length === 1 ? names[0] : names.includes(DEFAULT_STACK) ? DEFAULT_STACK : '');
  if (!name) {
    throw new CliError(
      names.length === 0
        ? `outputs file ${file} holds no stacks`
        : `outputs file ${file} holds several stacks (${names.join(', ')}): pick one with --stack`
    );
  }
  const values = doc[name];
  if (!isRecord(values)) {
    throw new CliError(
      `stack ${name} not found in ${file} (stacks: ${names.join(', ') || 'none'})`
    );
  }
  return [name, values];
};

export const parseStackOutputs = (
  text: string,
  file: string,
  stack: string | undefined
): StackOutputs => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`outputs file ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new CliError(`outputs file ${file} is not a JSON object`);
  const [stackName, values] = pickStack(doc, file, stack);
  const get = (outputKey: string): string => {
    const v = values[outputKey];
    if (typeof v !== 'string' || v === '') {
      throw new CliError(
        `outputs file ${file} has no ${outputKey} for stack ${stackName} (is it from an older deploy? ${HOW_TO_CREATE})`
      );
    }
    return v;
  };
  const localEndpoint = Object.values(values)
    .filter((v): v is string => typeof v === 'string' && /^https?:\/\//.test(v))
    .map((v) => new URL(v).origin)
    .find((origin) => isLocalEndpoint(origin));
  const queueUrls = Object.fromEntries(
    Object.entries(values).filter(
      (e): e is [string, string] => /QueueUrl$/.test(e[0]) && typeof e[1] === 'string'
    )
  );
  return {
    stackName,
    file,
    uploadBucket: get(REQUIRED.uploadBucket),
    outputBucket: get(REQUIRED.outputBucket),
    stateMachineArn: get(REQUIRED.stateMachineArn),
    ...(localEndpoint ? { localEndpoint } : {}),
    ...(Object.keys(queueUrls).length > 0 ? { queueUrls } : {}),
  };
};

export interface LoadOutputsOptions {
  /** `--outputs`: the only file tried when given. */
  outputsFile?: string;
  stack?: string;
  cwd?: string;
  readText?: ReadText;
}

export const loadStackOutputs = (opts: LoadOutputsOptions = {}): StackOutputs => {
  const cwd = opts.cwd ?? process.cwd();
  const read = opts.readText ?? readIfExists;
  const candidates = opts.outputsFile ? [opts.outputsFile] : [...DEFAULT_OUTPUTS_FILES];
  for (const candidate of candidates) {
    const path = resolve(cwd, candidate);
    const text = read(path);
    if (text !== undefined) return parseStackOutputs(text, path, opts.stack);
  }
  throw new CliError(
    `no outputs file found (tried ${candidates.map((c) => resolve(cwd, c)).join(', ')}): ${HOW_TO_CREATE}, or pass --outputs <file>`
  );
};

/** True for endpoints on this machine (the local runtime, LocalStack). */
export const isLocalEndpoint = (url: string | undefined): boolean => {
  if (!url) return false;
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
  } catch {
    return false;
  }
};

/** Region encoded in an ARN (`arn:aws:states:<region>:...`), if any. */
export const regionOfArn = (arn: string): string | undefined => arn.split(':')[3] || undefined;
