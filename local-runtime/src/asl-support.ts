import { integrationFor } from './sfn/integrations.js';
import { itemReaderProblems } from './sfn/item-reader.js';
import {
  definitionErrors,
  unsupportedQueryLanguageFeatures,
} from './sfn/jsonata/definition-check.js';

/**
 * aws-local-stepfunctions accepts these and then ignores them, which would make a
 * local run succeed with different semantics than AWS. Failing loudly is safer.
 */
export function unsupportedAslFeatures(def: Record<string, unknown>, where = ''): string[] {
  const problems: string[] = [];
  // JSONata states run on sfn/jsonata/engine.ts; the whole tree is checked once, from the top.
  if (!where) {
    problems.push(...definitionErrors(def), ...unsupportedQueryLanguageFeatures(def));
  }
  const states = (def.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, s] of Object.entries(states)) {
    const at = where ? `${where} > ${name}` : name;
    const processor = (s.ItemProcessor ?? s.Iterator) as Record<string, unknown> | undefined;
    const mode = (processor?.ProcessorConfig as { Mode?: string } | undefined)?.Mode;
    if (mode === 'DISTRIBUTED') {
      problems.push(...unsupportedDistributedMapFields(s).map((p) => `${at}: ${p}`));
    } else {
      // The interpreter would accept these on an inline Map and ignore them.
      for (const field of DISTRIBUTED_ONLY_FIELDS) {
        if (field in s) problems.push(`${at}: ${field} on an inline Map`);
      }
    }
    if (processor) problems.push(...unsupportedAslFeatures(processor, at));
    for (const branch of (s.Branches as Record<string, unknown>[]) ?? []) {
      problems.push(...unsupportedAslFeatures(branch, at));
    }
    if (s.Type === 'Task') {
      const resource = String(s.Resource ?? '');
      if (!isLambdaResource(resource) && !integrationFor(resource)) {
        problems.push(`${at}: Task resource ${resource}`);
      }
    }
  }
  return problems;
}

export function isLambdaResource(resource: string): boolean {
  return (
    /^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(resource) ||
    resource === 'arn:aws:states:::lambda:invoke'
  );
}

const DISTRIBUTED_ONLY_FIELDS = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
];

/** The result writer the local Distributed Map implements (sfn/distributed-map.ts). */
const RESULT_WRITER_RESOURCE = 'arn:aws:states:::s3:putObject';

/** What a Distributed Map uses that the local runtime does not implement, by name. */
function unsupportedDistributedMapFields(s: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const reader = s.ItemReader as Parameters<typeof itemReaderProblems>[0] | undefined;
  if (reader) problems.push(...itemReaderProblems(reader).map((p) => `distributed Map ${p}`));
  const writer = s.ResultWriter as { Resource?: string } | undefined;
  if (writer?.Resource !== undefined && writer.Resource !== RESULT_WRITER_RESOURCE) {
    problems.push(`distributed Map ResultWriter Resource ${writer.Resource}`);
  }
  if ('ItemsPointer' in s) problems.push('distributed Map ItemsPointer');
  return problems;
}
