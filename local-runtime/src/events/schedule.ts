/**
 * EventBridge schedule expressions for scheduled rules, as documented:
 * `rate(value unit)` with a positive whole value and a unit of minute(s),
 * hour(s) or day(s), singular for 1 and plural above; the schedule starts when
 * the rule is created. Cron expressions are refused by name (nothing in the
 * stack uses one; their field grammar is not emulated).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Pure: the interval of a rate expression in ms, or why it is not one. */
export const parseScheduleExpression = (
  expression: string
): { everyMs: number } | { problem: string } => {
  if (/^cron\(/.test(expression)) {
    return { problem: `${expression}: cron schedules are not run locally (rate() only)` };
  }
  const m = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (!m) return { problem: `${expression}: not rate(value unit)` };
  const value = Number(m[1]);
  const unit = m[2]!;
  const singular = unit.replace(/s$/, '') as keyof typeof UNIT_MS;
  if (value < 1) return { problem: `${expression}: the value must be positive` };
  if (value === 1 && unit !== singular) {
    return { problem: `${expression}: a value of 1 takes the singular unit (${singular})` };
  }
  if (value > 1 && unit === singular) {
    return { problem: `${expression}: a value above 1 takes the plural unit (${singular}s)` };
  }
  return { everyMs: value * UNIT_MS[singular] };
};

/**
 * The event a scheduled rule sends its targets.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 */
export const SCHEDULED_EVENT = { source: 'aws.events', detailType: 'Scheduled Event' } as const;
