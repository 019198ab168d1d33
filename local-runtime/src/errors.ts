/** Base class so callers can tell runtime configuration problems from bugs. */
export class LocalRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnsupportedResourceError extends LocalRuntimeError {
  constructor(
    readonly resourceType: string,
    readonly logicalId: string,
    detail?: string
  ) {
    super(
      `${resourceType} is not supported by the local runtime (logical id ${logicalId})${detail ? `: ${detail}` : ''}`
    );
  }
}

/** Several resources failed validation at once; report them all rather than one per restart. */
export class UnsupportedResourcesError extends LocalRuntimeError {
  constructor(readonly errors: UnsupportedResourceError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

export class UnsupportedFeatureError extends LocalRuntimeError {}

export class UnsupportedIntrinsicError extends LocalRuntimeError {}

export class AssemblyError extends LocalRuntimeError {}
