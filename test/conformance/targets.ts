import { reachable } from '../e2e/target.js';

/**
 * Why the LocalStack half cannot run, or undefined when it can. Outside CI a missing
 * LocalStack is a printed skip; in CI (or with E2E_REQUIRE_LOCALSTACK=1) it fails.
 */
export async function localStackSkipReason(): Promise<string | undefined> {
  const endpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
  if (await reachable(`${endpoint}/_localstack/health`)) return undefined;
  const reason = `no LocalStack answers at ${endpoint}`;
  if (process.env.CI === 'true' || process.env.E2E_REQUIRE_LOCALSTACK === '1') {
    throw new Error(
      `conformance on LocalStack required (CI or E2E_REQUIRE_LOCALSTACK=1) but ${reason}`
    );
  }
  return reason;
}
