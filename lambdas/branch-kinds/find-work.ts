/**
 * The file convention that finds a kind's work: `./work/<kind>.ts`, which
 * exports by default the kind's descriptor spread with its plan and run.
 *
 * The path is a template literal ending in `.ts` so that esbuild, which
 * bundles each function (NodejsFunction), includes every file of `work/` (a
 * glob import; it does not map `.js` to `.ts` there), and Node (tsx, vitest)
 * loads the same file unbundled. `work/` holds kind modules only: a helper or
 * an index there would be bundled as a kind, and one that imports the
 * registry would close an import cycle through its top-level await, which
 * esbuild bundles into an empty list (test/unit/branch-kinds/work-bundle.test.ts
 * bundles the registry the way the stack does and checks every kind arrives).
 * Its own module so that a test can stand a kind no file holds in its place.
 */
export const importWork = (kind: string): Promise<{ default?: unknown }> =>
  import(`./work/${kind}.ts`);
