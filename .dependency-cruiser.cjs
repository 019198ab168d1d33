/**
 * The project's import boundaries (issue #21, "each concept in one place").
 * `npm run check:boundaries` runs this over every source folder; `npm run lint`
 * runs it too, so CI fails on an arrow that points the wrong way.
 * test/unit/boundaries.test.ts proves each rule catches a violating import.
 *
 * The layers, bottom up: contract/ (the published contract) ← kinds/ (the
 * branch kinds, described once) and shared/ (helpers shared by the runtime
 * code) ← lambdas/, lib/, cli/ ← console/ (through cli/src/index.ts only).
 * local-runtime/ stands alone; scripts/ uses it only through its index.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve: the checks below would silently miss it.',
      from: {},
      // The resolver misses these packages' subpath exports ("./extend", a side-effect-only
      // import, and tsx's "./esm/api").
      to: {
        couldNotResolve: true,
        pathNot: '^(aws-sdk-client-mock-vitest/extend|tsx/esm/api)$',
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: modules that cannot be understood (or loaded) one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contract-is-only-the-contract',
      severity: 'error',
      comment:
        'contract/ is the published contract (schemas, layout, names): it imports nothing of ' +
        'the project outside itself and no SDK, so every consumer can import it.',
      from: { path: '^contract/' },
      to: {
        pathNot: ['^contract/', '^node_modules/zod/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'kinds-are-pure-descriptors',
      severity: 'error',
      comment:
        'kinds/ describes each branch kind for the stack, the Lambdas, the cost model and the ' +
        'CLI: it may import only contract/ and zod, so importing it creates no client and ' +
        'pulls in no handler code.',
      from: { path: '^kinds/' },
      to: { pathNot: ['^kinds/', '^contract/', '^node_modules/zod/'] },
    },
    {
      name: 'shared-helpers-sit-on-the-contract',
      severity: 'error',
      comment: 'shared/ (AWS error classifier, mapLimit) may import only contract/.',
      from: { path: '^shared/' },
      to: { path: '^(lambdas|lib|bin|kinds|cli|console|local-runtime|scripts|test|bench|fixtures)/' },
    },
    {
      name: 'infrastructure-not-to-handlers',
      severity: 'error',
      comment:
        'lib/ and bin/ (the CDK app) must not import Lambda code: what the stack needs of a ' +
        'branch kind is in kinds/. Handlers are bundled by path, never imported.',
      from: { path: '^(lib|bin)/' },
      to: { path: '^lambdas/' },
    },
    {
      name: 'production-app-has-no-test-configuration',
      severity: 'error',
      comment:
        'The production app (bin/, lib/) and the deployed code (lambdas/) never import tests, ' +
        'test fixtures or benchmarks: test configuration reaches a stack only through its own ' +
        'app entry (test/e2e/app.ts).',
      from: { path: '^(lib|bin|lambdas|kinds|contract|shared)/' },
      to: { path: '^(test|fixtures|bench)/' },
    },
    {
      name: 'handlers-not-to-tools',
      severity: 'error',
      comment: 'Lambda code imports only contract/, kinds/, shared/ and itself.',
      from: { path: '^lambdas/' },
      to: { path: '^(lib|bin|cli|console|local-runtime|scripts)/' },
    },
    {
      name: 'console-uses-the-cli-public-entry',
      severity: 'error',
      comment:
        'The console is a client of the CLI: it imports cli/src/index.ts only, never a module ' +
        "behind it (the CLI's internals may change without touching the console).",
      from: { path: '^console/' },
      to: { path: '^cli/', pathNot: '^cli/src/index\\.ts$' },
    },
    {
      name: 'local-runtime-stands-alone',
      severity: 'error',
      comment:
        'local-runtime/ runs any synthesized template: it imports nothing from the app, the ' +
        'tools or the tests around it. One exception: the Host/Origin check it shares with ' +
        'the console (shared/local-http-guard.ts imports nothing itself), so both local ' +
        'surfaces refuse strangers by the same rule.',
      from: { path: '^local-runtime/src/' },
      to: {
        path: '^(scripts|lib|bin|lambdas|kinds|contract|shared|cli|console|test|bench|fixtures)/',
        pathNot: '^shared/local-http-guard\\.ts$',
      },
    },
    {
      name: 'local-runtime-tests-not-to-scripts',
      severity: 'error',
      comment: "local-runtime's own tests do not depend on the tools that use it.",
      from: { path: '^local-runtime/test/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'scripts-use-the-runtime-public-entry',
      severity: 'error',
      comment:
        'scripts/ and console/ reach the local runtime only through local-runtime/src/index.ts ' +
        '(its unit tests may test its internals).',
      from: { path: '^(scripts|console)/' },
      to: { path: '^local-runtime/', pathNot: '^local-runtime/src/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['(^|/)cdk\\.out/', '^\\.local', '^\\.localstack', '^bench/results'] },
    // Type-only imports count: a cycle through `import type` is still a cycle of concepts.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    skipAnalysisNotInRules: true,
  },
};
