import type { BusEvent } from '../events/bus.js';
import type { Execution } from './execution.js';

/** https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
/** Input and output are left out (null, `included: false`) of an event past this size. */
const EVENT_DATA_LIMIT = 248 * 1024;

/**
 * "Step Functions Execution Status Change" for the default bus, with AWS's detail
 * (dates in epoch milliseconds, input/output as JSON text). For parent executions only:
 * a Distributed Map's child executions belong to the Map Run, and AWS addresses them
 * under a child state machine ARN no rule on the parent's ARN matches.
 * https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
 */
export function statusChangeEvent(exec: Execution, redriveStatus: string): BusEvent {
  const ms = (d: Date | undefined) => (d ? d.getTime() : null);
  const data = exec.input.length + (exec.output?.length ?? 0);
  const included = data <= EVENT_DATA_LIMIT;
  const ended = exec.status !== 'RUNNING';
  return {
    source: 'aws.states',
    'detail-type': EXECUTION_STATUS_CHANGE,
    resources: [exec.arn],
    time: ended ? exec.stopDate : (exec.redriveDate ?? exec.startDate),
    detail: {
      executionArn: exec.arn,
      stateMachineArn: exec.stateMachineArn,
      name: exec.name,
      status: exec.status,
      startDate: ms(exec.startDate),
      stopDate: ended ? ms(exec.stopDate) : null,
      input: included ? exec.input : null,
      output: included ? (exec.output ?? null) : null,
      inputDetails: { included },
      outputDetails: exec.output === undefined ? null : { included },
      error: exec.error ?? null,
      cause: exec.cause ?? null,
      redriveCount: exec.redriveCount,
      redriveDate: ms(exec.redriveDate),
      redriveStatus,
    },
  };
}
