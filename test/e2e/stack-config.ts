import { TENANT_QUOTAS_CONTEXT } from '../../lib/app.js';

/**
 * The e2e suite's stack configuration, passed as CDK context when the suite
 * synthesizes (never part of the production app, lib/app.ts). Every tenant may
 * use the whole global bound (maxRunningWorkflows, 10) except `e2e-noisy`,
 * held to 3 so test/e2e/tenants.e2e.ts sees a tenant over its quota.
 */
export const E2E_TENANT_QUOTAS = { default: 10, tenants: { 'e2e-noisy': 3 } } as const;

/** `--context` values of the suite's synth (local runtime) and deploy (LocalStack). */
export const E2E_CONTEXT: Readonly<Record<string, string>> = {
  [TENANT_QUOTAS_CONTEXT]: JSON.stringify(E2E_TENANT_QUOTAS),
};
