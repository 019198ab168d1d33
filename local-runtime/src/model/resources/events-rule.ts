import { UnsupportedResourceError } from '../../errors.js';
import { patternProblems } from '../../events/pattern.js';
import { parseScheduleExpression } from '../../events/schedule.js';
import { physicalName, type ResourceType } from '../resource-type.js';
import type { EventTargetSpec } from '../types.js';

interface CfnTarget {
  Id?: string;
  Arn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: unknown;
  DeadLetterConfig?: { Arn?: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
}

/**
 * AWS::Events::Rule: a rule on the default bus with an EventPattern and Lambda
 * targets, run by the runtime's event bus (events/bus.ts) for the events the
 * runtime's services emit (Step Functions execution status changes), or with a
 * rate() ScheduleExpression, run by the bus's timers (events/schedule.ts). Cron
 * schedules, other buses, other target types and input transformers are refused by name.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-rule.html
 */
export const eventsRule: ResourceType = {
  type: 'AWS::Events::Rule',
  phase: 2,
  localEffect: true,
  physical(id, r, ctx) {
    const name = ctx.explicitName(r, 'Name') ?? physicalName(ctx.stackName, id, 64);
    return { ref: name, attrs: { Arn: ctx.arn('events', `rule/${name}`) } };
  },
  extract(id, r, p, phys, { model }) {
    const refuse = (detail: string) => new UnsupportedResourceError(r.Type, id, detail);
    let scheduleEveryMs: number | undefined;
    if (p.ScheduleExpression !== undefined) {
      const parsed = parseScheduleExpression(String(p.ScheduleExpression));
      if ('problem' in parsed) throw refuse(`ScheduleExpression ${parsed.problem}`);
      scheduleEveryMs = parsed.everyMs;
    }
    if (p.ScheduleExpression === undefined && p.EventPattern === undefined) {
      throw refuse('a rule needs an EventPattern or a ScheduleExpression');
    }
    const bus = p.EventBusName === undefined ? 'default' : String(p.EventBusName);
    if (bus !== 'default' && !bus.endsWith(':event-bus/default')) {
      throw refuse(`event bus ${bus} (only the default bus carries the local services' events)`);
    }
    const pattern =
      typeof p.EventPattern === 'string' ? JSON.parse(p.EventPattern) : p.EventPattern;
    const problems = pattern === undefined ? [] : patternProblems(pattern);
    if (problems.length > 0) throw refuse(`EventPattern: ${problems.join('; ')}`);
    const targets: EventTargetSpec[] = ((p.Targets as CfnTarget[] | undefined) ?? []).map((t) => {
      const arn = String(t.Arn ?? '');
      if (!/^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(arn)) {
        throw refuse(`target ${t.Id} (${arn}): only Lambda function targets are invoked locally`);
      }
      if (t.InputTransformer !== undefined) throw refuse(`target ${t.Id}: InputTransformer`);
      return {
        id: String(t.Id ?? arn),
        arn,
        input: t.Input,
        inputPath: t.InputPath,
        deadLetterArn: t.DeadLetterConfig?.Arn,
        maxRetryAttempts: t.RetryPolicy?.MaximumRetryAttempts,
        maxEventAgeSeconds: t.RetryPolicy?.MaximumEventAgeInSeconds,
      };
    });
    model.eventRules.push({
      logicalId: id,
      name: phys.ref,
      arn: phys.attrs.Arn,
      // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is enabled too.
      enabled: p.State === undefined || String(p.State).startsWith('ENABLED'),
      eventPattern: pattern as Record<string, unknown> | undefined,
      scheduleEveryMs,
      targets,
    });
  },
};
