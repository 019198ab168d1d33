import { localStackProblem } from '../e2e/target.js';

/**
 * Why the LocalStack half cannot run, or undefined when it can: the e2e suite's gate, so a
 * missing LocalStack is a printed skip outside CI and a failure in CI.
 */
export const localStackSkipReason = (): Promise<string | undefined> =>
  localStackProblem(
    'conformance on LocalStack',
    process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566'
  );
