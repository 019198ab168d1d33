import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AssemblyError } from './errors.js';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; Export?: unknown }>;
}

export interface LoadedStack {
  stackName: string;
  assemblyDir: string;
  template: CfnTemplate;
}

interface ManifestArtifact {
  type: string;
  displayName?: string;
  properties?: { templateFile?: string; stackName?: string };
}

/**
 * Reads the stack through manifest.json (not by globbing *.template.json) so the
 * runtime sees exactly the artifact `cdk deploy` would deploy.
 */
export function loadStack(assemblyDir: string, stackName?: string): LoadedStack {
  const dir = path.resolve(assemblyDir);
  let manifest: { artifacts?: Record<string, ManifestArtifact> };
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch (err) {
    throw new AssemblyError(
      `Cannot read ${path.join(dir, 'manifest.json')} (run "npx cdk synth" first): ${(err as Error).message}`
    );
  }
  const stacks = Object.entries(manifest.artifacts ?? {})
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => ({
      id,
      name: a.properties?.stackName ?? id,
      templateFile: a.properties?.templateFile ?? `${id}.template.json`,
    }));
  if (stacks.length === 0) throw new AssemblyError(`No CloudFormation stack in ${dir}`);
  let chosen = stacks[0];
  if (stackName) {
    const found = stacks.find((s) => s.name === stackName || s.id === stackName);
    if (!found) {
      throw new AssemblyError(
        `Stack "${stackName}" not found in ${dir}; available: ${stacks.map((s) => s.name).join(', ')}`
      );
    }
    chosen = found;
  } else if (stacks.length > 1) {
    throw new AssemblyError(
      `The assembly has several stacks (${stacks.map((s) => s.name).join(', ')}); pass a stack name`
    );
  }
  const template = JSON.parse(
    readFileSync(path.join(dir, chosen.templateFile), 'utf8')
  ) as CfnTemplate;
  return { stackName: chosen.name, assemblyDir: dir, template };
}
