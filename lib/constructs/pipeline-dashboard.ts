import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from '../../contract/metrics.js';
import { OVERFLOW_METRICS } from '../../contract/overflow.js';
import type { WatchedFunction, WatchedQueue } from './pipeline-alarms.js';

export interface PipelineDashboardProps {
  /**
   * Work queues, each an input: pending (visible and in flight), emitted
   * (processed and deleted), dropped, spilled and rejected (the overflow policy's EMF
   * counts, by the same label as the worker's `inputName`), depth and age of the
   * oldest message (the latency of the input).
   */
  readonly queues: readonly WatchedQueue[];
  /** Dead-letter queues (SQS redrive and SNS delivery): depth and age of the oldest message. */
  readonly deadLetterQueues: readonly WatchedQueue[];
  /** Started, succeeded, failed and throttled executions. */
  readonly stateMachine: sfn.IStateMachine;
  /** Throttles, one line per function. */
  readonly functions: readonly WatchedFunction[];
  /**
   * Shown as an alarm status widget.
   * @default - no alarm widget
   */
  readonly alarms?: readonly cloudwatch.IAlarm[];
  /** Where the functions publish their EMF metrics. @default METRICS_NAMESPACE ('FanOutFanIn') */
  readonly metricsNamespace?: string;
  /** The functions' POWERTOOLS_SERVICE_NAME (a dimension of every EMF metric). @default METRICS_SERVICE */
  readonly serviceName?: string;
  /** @default - CloudFormation generates one */
  readonly dashboardName?: string;
  /** Aggregation period of every graph. @default Duration.minutes(5) */
  readonly period?: Duration;
}

const WIDTH = 24;
const HALF = 12;
const THIRD = 8;
const HEIGHT = 6;

/**
 * One CloudWatch dashboard for the pipeline: the application's EMF metrics per
 * branch kind and tenant (emitted, succeeded, failed, timed out, duration),
 * upload → manifest latency and backpressure per tenant, running workflows and
 * videos per tenant, per input queue pending, emitted, dropped/spilled/rejected and the
 * oldest message's age, then every queue's depth, the DLQs, the state machine
 * and Lambda throttles.
 * Per-kind/tenant graphs use SEARCH, so a new kind or tenant appears without
 * a redeploy (cardinality stays bounded: tenants outside the configuration
 * are reported as `other`).
 */
export class PipelineDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const namespace = props.metricsNamespace ?? METRICS_NAMESPACE;
    const service = props.serviceName ?? METRICS_SERVICE;
    const { kind, tenant } = METRIC_DIMENSIONS;

    /** Every series of one EMF metric over the given dimensions (besides `service`). */
    const search = (metricName: string, dims: string[], stat: string, label: string) =>
      new cloudwatch.MathExpression({
        expression:
          `SEARCH('{${namespace},${[...dims, METRIC_DIMENSIONS.service].sort().join(',')}} ` +
          `${METRIC_DIMENSIONS.service}="${service}" MetricName="${metricName}"', '${stat}', ${period.toSeconds()})`,
        label,
        usingMetrics: {},
        period,
      });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      width = THIRD,
      leftYAxis?: cloudwatch.YAxisProps
    ) => new cloudwatch.GraphWidget({ title, left, width, height: HEIGHT, leftYAxis });
    const app = (metricName: string, statistic = 'Sum', dimensionsMap = {}) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        statistic,
        period,
        dimensionsMap: { [METRIC_DIMENSIONS.service]: service, ...dimensionsMap },
      });
    const labelled = <T extends { label: string }>(
      items: readonly T[],
      metric: (item: T) => cloudwatch.Metric
    ) => items.map((item) => metric(item).with({ label: item.label }));

    const byKindAndTenant = (title: string, metricName: string) =>
      graph(title, [search(metricName, [kind, tenant], 'Sum', '')]);

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# Video pipeline\nBranches per **kind** and **tenant** (EMF), latency and backpressure per tenant, ' +
          'then queues, DLQs, Step Functions and Lambda throttles. Alarms and thresholds: README § Dashboard and alarms.',
        width: WIDTH,
        height: 2,
      })
    );
    this.dashboard.addWidgets(
      byKindAndTenant('Branches emitted (started)', METRIC_NAMES.emitted),
      byKindAndTenant('Branches succeeded', METRIC_NAMES.succeeded),
      byKindAndTenant('Branches failed', METRIC_NAMES.failed)
    );
    this.dashboard.addWidgets(
      byKindAndTenant('Branches timed out', METRIC_NAMES.timedOut),
      graph('Branch duration (p50, p95)', [
        search(METRIC_NAMES.branchDuration, [kind, tenant], 'p50', 'p50'),
        search(METRIC_NAMES.branchDuration, [kind, tenant], 'p95', 'p95'),
      ]),
      graph('Videos by status', [
        app(METRIC_NAMES.videosCompleted).with({ label: 'COMPLETE' }),
        app(METRIC_NAMES.videosPartial).with({ label: 'PARTIAL' }),
        app(METRIC_NAMES.videosFailed).with({ label: 'FAILED' }),
      ])
    );
    this.dashboard.addWidgets(
      graph(
        'Upload → manifest latency per tenant (p50, p95)',
        [
          search(METRIC_NAMES.uploadToManifest, [tenant], 'p50', 'p50'),
          search(METRIC_NAMES.uploadToManifest, [tenant], 'p95', 'p95'),
        ],
        HALF
      ),
      graph(
        'Uploads waiting on backpressure per tenant',
        [search(METRIC_NAMES.uploadsHeldBack, [tenant], 'Sum', '')],
        HALF
      )
    );
    const { input: QUEUE } = METRIC_DIMENSIONS;
    this.dashboard.addWidgets(
      graph(
        'Running workflows (overall, per tenant)',
        [
          app(METRIC_NAMES.runningWorkflows, 'Maximum').with({ label: 'all' }),
          search(METRIC_NAMES.runningWorkflows, [tenant], 'Maximum', ''),
        ],
        HALF
      ),
      graph(
        'Videos by status per tenant',
        [
          search(METRIC_NAMES.videosCompleted, [tenant], 'Sum', 'COMPLETE'),
          search(METRIC_NAMES.videosPartial, [tenant], 'Sum', 'PARTIAL'),
          search(METRIC_NAMES.videosFailed, [tenant], 'Sum', 'FAILED'),
        ],
        HALF
      )
    );
    this.dashboard.addWidgets(
      graph(
        'Pending per input (visible + in flight)',
        props.queues.map(
          (q, i) =>
            new cloudwatch.MathExpression({
              expression: `v${i} + f${i}`,
              label: q.label,
              usingMetrics: {
                [`v${i}`]: q.queue.metricApproximateNumberOfMessagesVisible({
                  period,
                  statistic: 'Maximum',
                }),
                [`f${i}`]: q.queue.metricApproximateNumberOfMessagesNotVisible({
                  period,
                  statistic: 'Maximum',
                }),
              },
              period,
            })
        ),
        THIRD
      ),
      graph(
        'Emitted per input (processed and deleted)',
        labelled(props.queues, (q) =>
          q.queue.metricNumberOfMessagesDeleted({ period, statistic: 'Sum' })
        ),
        THIRD
      ),
      graph(
        'Dropped, spilled and rejected per input and tenant',
        [
          search(OVERFLOW_METRICS.dropped, [QUEUE, tenant], 'Sum', 'dropped'),
          search(OVERFLOW_METRICS.spilled, [QUEUE, tenant], 'Sum', 'spilled'),
          // The starter's admission `reject` (a FAILED manifest `rejected: over <limit>`).
          search(METRIC_NAMES.rejected, [QUEUE, tenant], 'Sum', 'rejected'),
        ],
        THIRD
      )
    );
    this.dashboard.addWidgets(
      graph(
        'Queue depth (visible messages)',
        labelled(props.queues, (q) => q.queue.metricApproximateNumberOfMessagesVisible({ period })),
        THIRD
      ),
      graph(
        'Latency per input: age of the oldest message (s)',
        labelled([...props.queues, ...props.deadLetterQueues], (q) =>
          q.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' })
        ),
        THIRD
      ),
      graph(
        'DLQ depth',
        labelled(props.deadLetterQueues, (q) =>
          q.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' })
        ),
        THIRD
      )
    );
    const machine = props.stateMachine;
    this.dashboard.addWidgets(
      graph(
        'Executions',
        [
          machine.metricStarted({ period }).with({ label: 'started' }),
          machine.metricSucceeded({ period }).with({ label: 'succeeded' }),
          machine.metricFailed({ period }).with({ label: 'failed' }),
          machine.metricThrottled({ period }).with({ label: 'throttled' }),
        ],
        HALF
      ),
      graph(
        'Lambda throttles per function',
        labelled(props.functions, (f) => f.function.metricThrottles({ period, statistic: 'Sum' })),
        HALF
      )
    );
    if (props.alarms && props.alarms.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          alarms: [...props.alarms],
          width: WIDTH,
          height: Math.min(12, 2 + Math.ceil(props.alarms.length / 4)),
        })
      );
    }
  }
}
