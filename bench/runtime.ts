import { startRuntimeProcess } from '../local-runtime/test/helpers.js';

/**
 * The local runtime as users run it (`npm run local`): a process of its own. Hosting it inside
 * the bench process measured the bench's imports too: the branch code the bench runs directly
 * loads the X-Ray SDK, whose async hook (cls-hooked, with a destroy callback) then tracked every
 * promise of the runtime's pollers and HTTP handlers (about 7% of the process's CPU in a profile
 * of part f).
 */
export const startBenchRuntime = async (
  assemblyDir: string,
  options: { maxEnvironmentsPerFunction?: number } = {}
) => {
  const env: Record<string, string> = {};
  if (options.maxEnvironmentsPerFunction !== undefined) {
    env.LOCAL_MAX_ENVIRONMENTS = String(options.maxEnvironmentsPerFunction);
  }
  // BENCH_RUNTIME_CPU_PROF=<dir>: a V8 CPU profile of the runtime's process, written at its exit.
  const profileDir = process.env.BENCH_RUNTIME_CPU_PROF;
  const runtime = await startRuntimeProcess(
    assemblyDir,
    env,
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  );
  return { ...runtime, region: process.env.AWS_REGION ?? 'us-east-1' };
};
