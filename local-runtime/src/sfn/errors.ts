/** Serialized by the router as awsJson1_0 `{__type, message}` with HTTP 400. */
export class SfnError extends Error {
  constructor(
    readonly type: string,
    message: string
  ) {
    super(message);
    this.name = type;
  }
}
