import { unsupportedAslFeatures } from '../asl-support.js';
import type { StateMachineSpec } from '../model.js';
import { SfnError } from './errors.js';
import {
  definitionErrors,
  queryLanguageOf,
  runsOnEngine,
  structureErrors,
} from './jsonata/definition-check.js';
import { checkedInterpreter } from './jsonata/engine.js';
import { withoutVariables } from './jsonata/jsonpath-fields.js';

interface Entry {
  spec: StateMachineSpec;
  creationDate: Date;
  updateDate?: Date;
  /** The definition as the API was given it; DescribeStateMachine returns it unchanged. */
  definitionText?: string;
}

const epoch = (d: Date) => d.getTime() / 1000;

/** AWS's rule for state machine names (CreateStateMachine, "name"): 1–80 characters, no whitespace, brackets, wildcards or control characters. */
const NAME_CHARS = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;
const isValidName = (name: string) =>
  NAME_CHARS.test(name) &&
  [...name].every((ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code > 0x1f && (code < 0x7f || code > 0x9f);
  });

/**
 * The state machines of one runtime: the stack's, and those users create through the
 * API, so a workflow that is not in the template runs too.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
 */
export class StateMachineRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    templateMachines: StateMachineSpec[],
    private readonly region: string,
    private readonly accountId: string
  ) {
    const now = new Date();
    for (const spec of templateMachines) {
      this.entries.set(spec.arn, { spec, creationDate: now });
    }
  }

  get(arn: string): StateMachineSpec {
    const e = this.entries.get(arn);
    if (!e) {
      throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    }
    return e.spec;
  }

  all(): StateMachineSpec[] {
    return [...this.entries.values()].map((e) => e.spec);
  }

  /**
   * Idempotent as on AWS: the same name with the same definition and type returns the
   * existing machine; the same name with anything else is `StateMachineAlreadyExists`.
   */
  create(body: Record<string, unknown>) {
    const name = String(body.name ?? '');
    if (!isValidName(name)) {
      throw new SfnError('InvalidName', `Invalid State Machine Name: '${name}'`);
    }
    const type = String(body.type ?? 'STANDARD');
    if (type !== 'STANDARD' && type !== 'EXPRESS') {
      throw new SfnError('ValidationException', `Invalid type: '${type}'`);
    }
    const definition = parseDefinition(body.definition);
    const arn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
    const existing = this.entries.get(arn);
    if (existing) {
      const same =
        existing.spec.type === type &&
        JSON.stringify(existing.spec.definition) === JSON.stringify(definition);
      if (!same) {
        throw new SfnError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
      }
      return { stateMachineArn: arn, creationDate: epoch(existing.creationDate) };
    }
    const creationDate = new Date();
    this.entries.set(arn, {
      spec: { logicalId: name, name, arn, type, definition },
      creationDate,
      definitionText: String(body.definition),
    });
    return { stateMachineArn: arn, creationDate: epoch(creationDate) };
  }

  update(body: Record<string, unknown>) {
    const arn = String(body.stateMachineArn);
    const spec = this.get(arn);
    const entry = this.entries.get(arn) as Entry;
    if (body.definition !== undefined) {
      spec.definition = parseDefinition(body.definition);
      entry.definitionText = String(body.definition);
      // A definition the runtime runs replaces the one it refused (allowPartial).
      delete spec.unsupported;
    }
    entry.updateDate = new Date();
    return { updateDate: epoch(entry.updateDate) };
  }

  /** Running executions keep their definition (AWS lets them finish); new starts fail. */
  delete(body: Record<string, unknown>) {
    const arn = String(body.stateMachineArn);
    this.entries.delete(arn);
    return {};
  }

  describe(arn: string) {
    const spec = this.get(arn);
    const entry = this.entries.get(arn) as Entry;
    return {
      stateMachineArn: spec.arn,
      name: spec.name,
      status: 'ACTIVE',
      // A machine of the template has no text of its own: its definition as parsed.
      definition: entry.definitionText ?? JSON.stringify(spec.definition),
      roleArn: `arn:aws:iam::${this.accountId}:role/local`,
      type: spec.type,
      creationDate: epoch(entry.creationDate),
    };
  }

  list() {
    return {
      stateMachines: [...this.entries.values()].map((e) => ({
        stateMachineArn: e.spec.arn,
        name: e.spec.name,
        type: e.spec.type,
        creationDate: epoch(e.creationDate),
      })),
    };
  }
}

/**
 * A definition the runtime cannot run as AWS would is refused at creation with the
 * exact feature (`InvalidDefinition`, as AWS answers a definition it rejects), instead
 * of running with other semantics.
 */
function parseDefinition(raw: unknown): Record<string, unknown> {
  let definition: Record<string, unknown>;
  try {
    definition = JSON.parse(String(raw)) as Record<string, unknown>;
  } catch (err) {
    throw new SfnError(
      'InvalidDefinition',
      `Invalid State Machine Definition: '${(err as Error).message}'`
    );
  }
  // What AWS itself refuses (a JSONPath field in a JSONata state, …) is not a local gap.
  const invalid = definitionErrors(definition);
  if (invalid.length > 0) {
    throw new SfnError(
      'InvalidDefinition',
      `Invalid State Machine Definition: '${invalid.join('; ')}'`
    );
  }
  const unsupported = unsupportedAslFeatures(definition);
  if (unsupported.length > 0) {
    throw new SfnError(
      'InvalidDefinition',
      `Invalid State Machine Definition: not supported by the local runtime: ${unsupported.join('; ')}`
    );
  }
  if (runsOnEngine(definition)) {
    const problems = structureErrors(definition);
    if (problems.length > 0) {
      throw new SfnError(
        'InvalidDefinition',
        `Invalid State Machine Definition: '${problems.join('; ')}'`
      );
    }
    // A JSONPath machine with variables: its paths and templates get the interpreter's own
    // validation too (a machine with JSONata states has its JSONPath ones checked as they run).
    if (queryLanguageOf(definition) === 'JSONPath')
      validateOnInterpreter(withoutVariables(definition));
    return definition;
  }
  validateOnInterpreter(definition);
  return definition;
}

/** The interpreter's schema and path validation, as `InvalidDefinition`. */
function validateOnInterpreter(definition: Record<string, unknown>) {
  try {
    checkedInterpreter(definition);
  } catch (err) {
    throw new SfnError(
      'InvalidDefinition',
      `Invalid State Machine Definition: '${(err as Error).message.replace(/\s+/g, ' ').trim()}'`
    );
  }
}
