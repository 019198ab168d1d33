/**
 * SQS answers a receipt handle that is not one it issued with `ReceiptHandleIsInvalid`
 * (DeleteMessage, ChangeMessageVisibility); fauxqs only knows whether a handle is in
 * flight, and answers `MessageNotInflight` (ChangeMessageVisibility) or nothing at all
 * (DeleteMessage). The handles fauxqs issues are UUIDs, so anything else is not a handle.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
const ISSUED_HANDLE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The SQS (JSON protocol) operations whose receipt handle the front door checks. */
export const RECEIPT_HANDLE_OPERATIONS: ReadonlySet<string> = new Set([
  'DeleteMessage',
  'ChangeMessageVisibility',
]);

/** The error SQS answers for this request body, or undefined when its handle is well-formed. */
export function invalidReceiptHandle(
  body: Record<string, unknown>
): { type: string; message: string } | undefined {
  const handle = body.ReceiptHandle;
  // A missing handle is fauxqs's to answer (MissingParameter).
  if (handle === undefined || handle === null || handle === '') return undefined;
  if (typeof handle === 'string' && ISSUED_HANDLE.test(handle)) return undefined;
  return {
    type: 'ReceiptHandleIsInvalid',
    message: `The input receipt handle "${String(handle)}" is not a valid receipt handle.`,
  };
}
