/**
 * Test-process defaults. Import first in a test file (before any lambdas/
 * module): Powertools reads these when the shared logger and metrics are
 * constructed, at import time. Set POWERTOOLS_LOG_LEVEL=DEBUG in the shell to
 * see the logs again.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// SDK clients resolve the region lazily; Lambda always sets it, tests must too.
process.env.AWS_REGION ??= 'us-east-1';
