/**
 * The e2e suite's stack configuration, never part of the production app
 * (lib/app.ts): every tenant may use the whole global bound
 * (maxRunningWorkflows, 10) except `e2e-noisy`, held to 3 so
 * test/e2e/tenants.e2e.ts sees a tenant over its quota. test/e2e/app.ts is the
 * CDK app entry that applies it; the suite synthesizes and deploys that entry.
 */
export const E2E_TENANT_QUOTAS = { default: 10, tenants: { 'e2e-noisy': 3 } } as const;

/** `cdk synth --app` of the e2e suite's app (relative to the repository root). */
export const E2E_APP = 'npx tsx test/e2e/app.ts';
