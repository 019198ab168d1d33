import { LOCALSTACK_VERSION } from '../project.js';
import { DeployError } from './errors.js';

/** What the stack and the CDK bootstrap stack need from LocalStack. */
export const REQUIRED_SERVICES = [
  'cloudformation',
  // The verdict keeper's rule on Step Functions status changes.
  'events',
  'iam',
  'kms',
  'lambda',
  'logs',
  's3',
  'sns',
  'sqs',
  'ssm',
  'stepfunctions',
  'sts',
] as const;

/** The body of LocalStack's `GET /_localstack/health`. */
export interface Health {
  readonly version?: string;
  readonly services?: Record<string, string>;
}

/** Required services LocalStack does not offer, as `name=state` (state `missing` if unlisted). */
export const unavailableServices = (h: Health): string[] =>
  REQUIRED_SERVICES.filter((s) => !['available', 'running'].includes(h.services?.[s] ?? '')).map(
    (s) => `${s}=${h.services?.[s] ?? 'missing'}`
  );

/** A warning when the running LocalStack is not the release this project is tested with. */
export const versionWarning = (h: Health): string | undefined =>
  h.version && h.version !== LOCALSTACK_VERSION && !h.version.startsWith(`${LOCALSTACK_VERSION}.`)
    ? `tested with LocalStack ${LOCALSTACK_VERSION}, this is ${h.version}`
    : undefined;

/** Asks LocalStack whether it is up and offers every service the deploy needs. */
export const checkHealth = async (endpoint: string): Promise<Health> => {
  let h: Health;
  try {
    const res = await fetch(`${endpoint}/_localstack/health`, {
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    h = (await res.json()) as Health;
  } catch (err) {
    throw new DeployError(
      `no LocalStack answers at ${endpoint}/_localstack/health (${(err as Error).message}).\n` +
        '  Start one first:\n' +
        '    without Docker: npm run localstack:setup && npm run localstack:host -- --background\n' +
        `    with Docker:    docker compose up -d   (image localstack/localstack:${LOCALSTACK_VERSION})`
    );
  }
  const down = unavailableServices(h);
  if (down.length > 0) {
    throw new DeployError(
      `LocalStack at ${endpoint} does not offer ${down.join(', ')}; ` +
        'start it with these services enabled (SERVICES / LOCALSTACK_SERVICES).'
    );
  }
  return h;
};
