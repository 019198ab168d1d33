/**
 * The one place for prices. AWS list prices, US East (N. Virginia), on-demand,
 * first pricing tier, no free tier (a per-video figure should not depend on
 * how much of the month's free allowance is left). Update a figure, its source
 * and `PRICES_AS_OF` together.
 *
 * Provenance, as of 2026-11-29: the Step Functions figure was read on its
 * pricing page; the Lambda and SQS figures on 2026 summaries of those pages
 * (the search found the summaries, not the pages themselves). The SNS, S3 and
 * MediaConvert figures are the long-standing list prices and were NOT
 * re-checked that day: verify them on the pages named below.
 */
export const PRICES_AS_OF = '2026-11-29';
export const PRICES_REGION = 'us-east-1';

export const PRICES = {
  lambda: {
    /** USD per GB-second, x86_64 (https://aws.amazon.com/lambda/pricing/, first 6 billion GB-s). */
    gbSecondX86: 0.000_016_666_7,
    /** USD per GB-second, arm64 (same page, first 7.5 billion GB-s). */
    gbSecondArm: 0.000_013_333_4,
    /** USD per request, either architecture ($0.20 per 1M). */
    request: 0.2 / 1_000_000,
  },
  stepFunctions: {
    /** USD per Standard-workflow state transition ($0.025 per 1,000; https://aws.amazon.com/step-functions/pricing/). */
    stateTransition: 0.025 / 1_000,
  },
  sqs: {
    /** USD per standard-queue request, per 64 KiB chunk ($0.40 per 1M; https://aws.amazon.com/sqs/pricing/). */
    request: 0.4 / 1_000_000,
  },
  sns: {
    /** USD per standard-topic publish ($0.50 per 1M; deliveries to SQS are free; https://aws.amazon.com/sns/pricing/). */
    publish: 0.5 / 1_000_000,
  },
  s3: {
    /** USD per PUT/COPY/POST/LIST request, S3 Standard ($0.005 per 1,000; https://aws.amazon.com/s3/pricing/). */
    put: 0.005 / 1_000,
    /** USD per GET/HEAD and other request, S3 Standard ($0.0004 per 1,000). */
    get: 0.0004 / 1_000,
  },
  /**
   * AWS Elemental MediaConvert on-demand Basic tier, AVC, single pass, per output
   * minute, first volume tier (https://aws.amazon.com/mediaconvert/pricing/). Only
   * used for the README's comparison, never in a manifest.
   */
  mediaConvertBasicPerMinute: { sd: 0.0075, hd: 0.015 },
  /**
   * What a deployed stack costs per month while idle (scripts/idle-cost.ts). Long-standing
   * list prices, NOT re-checked on PRICES_AS_OF: verify them on the pages named.
   */
  monthly: {
    /**
     * USD per KMS customer managed key per month (https://aws.amazon.com/kms/pricing/); with
     * automatic rotation the first and the second rotation each add $1 a month, then no more.
     */
    kmsCustomerManagedKey: 1,
    /** USD per standard-resolution (60 s and longer) alarm metric (https://aws.amazon.com/cloudwatch/pricing/). */
    alarmMetricStandard: 0.1,
    /** USD per high-resolution (10 s / 30 s) alarm metric (same page). */
    alarmMetricHighResolution: 0.3,
    /** USD per CloudWatch dashboard per month (same page). */
    dashboard: 3,
  },
} as const;

export type Prices = typeof PRICES;
