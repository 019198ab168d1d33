/**
 * aws-local-stepfunctions accepts these and then ignores them, which would make a
 * local run succeed with different semantics than AWS. Failing loudly is safer.
 */
export function unsupportedAslFeatures(def: Record<string, unknown>, where = ''): string[] {
  const problems: string[] = [];
  if (def.QueryLanguage === 'JSONata')
    problems.push(`${where || 'top level'}: QueryLanguage JSONata`);
  const states = (def.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, s] of Object.entries(states)) {
    const at = where ? `${where} > ${name}` : name;
    if (s.QueryLanguage === 'JSONata') problems.push(`${at}: QueryLanguage JSONata`);
    for (const field of [
      'ItemReader',
      'ItemBatcher',
      'ResultWriter',
      'ToleratedFailurePercentage',
      'ToleratedFailureCount',
    ]) {
      if (field in s) problems.push(`${at}: ${field}`);
    }
    const processor = (s.ItemProcessor ?? s.Iterator) as Record<string, unknown> | undefined;
    if (processor) {
      const mode = (processor.ProcessorConfig as { Mode?: string } | undefined)?.Mode;
      if (mode === 'DISTRIBUTED') problems.push(`${at}: distributed Map`);
      problems.push(...unsupportedAslFeatures(processor, at));
    }
    for (const branch of (s.Branches as Record<string, unknown>[]) ?? []) {
      problems.push(...unsupportedAslFeatures(branch, at));
    }
    if (s.Type === 'Task') {
      const resource = String(s.Resource ?? '');
      if (!isLambdaResource(resource)) problems.push(`${at}: Task resource ${resource}`);
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
