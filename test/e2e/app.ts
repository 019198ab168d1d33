import { createPipelineApp } from '../../lib/app.js';
import { E2E_TENANT_QUOTAS } from './stack-config.js';

/**
 * The e2e suite's CDK app: the production app (flags, stack, nag packs) with
 * the suite's tenant quotas. `cdk synth --app "npx tsx test/e2e/app.ts"`
 * (E2E_APP); the e2e-local setup and `localstack:deploy --app` use it.
 */
createPipelineApp({ stackProps: { tenantQuotas: E2E_TENANT_QUOTAS } });
