import * as path from 'node:path';
import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from '../project-root.js';
import { CHECKOV_SKIPS, skipCheckov } from './checkov.js';
import { SECURE_FUNCTION_DEFAULTS } from './defaults.js';
import { mergeProps } from './merge-props.js';

export interface PipelineFunctionProps {
  /** Path of the handler module (TypeScript), exporting `handler`. */
  readonly entry: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Added to the Powertools variables. @default - no extra environment */
  readonly environment?: Record<string, string>;
  /** @default - no layers */
  readonly layers?: lambda.ILayerVersion[];
  /** @default lambda.Architecture.ARM_64 (cheaper); functions that run native x86 binaries pass X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default - 512 MiB (Lambda's default, the free tier) */
  readonly ephemeralStorageMiB?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - no reserved concurrency */
  readonly reservedConcurrentExecutions?: number;
  /** @default 'video-pipeline' */
  readonly serviceName?: string;
  /** @default 'FanOutFanIn' */
  readonly metricsNamespace?: string;
  /**
   * Any other NodejsFunction setting, merged as secure defaults (nodejs24.x,
   * active tracing, JSON logs) ← the props above ← these ← required (entry,
   * handler, role, log group, environment, bundling). Replacing a secure
   * default is reported as a synth warning; setting a field here that a prop
   * above also sets, or a required one, is an error.
   * @default - none
   */
  readonly functionProps?: nodejs.NodejsFunctionProps;
}

/** Props that have a flat prop above; setting both would leave one silently unused. */
const FLAT_PROPS = [
  'timeout',
  'memorySize',
  'layers',
  'architecture',
  'ephemeralStorageSize',
  'reservedConcurrentExecutions',
] as const;

/**
 * A NodejsFunction with the defaults every function in this app needs:
 * esbuild ESM bundle for nodejs24.x (no Docker), active X-Ray tracing,
 * Powertools configuration, its own log group with a retention (declared as a
 * plain resource, so no log-retention custom resource), and its own role that
 * can write only to that log group instead of the managed basic-execution policy.
 */
export class PipelineFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const both = FLAT_PROPS.filter(
      (key) =>
        props.functionProps?.[key] !== undefined &&
        (key === 'ephemeralStorageSize'
          ? props.ephemeralStorageMiB !== undefined
          : props[key] !== undefined)
    );
    if (both.length > 0) {
      throw new Error(
        `${this.node.path}: ${both.join(', ')} set both as a prop and in functionProps`
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    skipCheckov(this.logGroup, [CHECKOV_SKIPS.logGroupKms]);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      })
    );

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The only * resource on this role is X-Ray (Tracing.ACTIVE), which has no resource-level permissions.',
    });

    this.function = new nodejs.NodejsFunction(
      this,
      'Resource',
      mergeProps<nodejs.NodejsFunctionProps>({
        scope: this,
        label: 'functionProps',
        defaults: SECURE_FUNCTION_DEFAULTS,
        user: {
          architecture: props.architecture ?? lambda.Architecture.ARM_64,
          timeout: props.timeout ?? Duration.seconds(30),
          memorySize: props.memorySize ?? 256,
          ephemeralStorageSize:
            props.ephemeralStorageMiB === undefined
              ? undefined
              : Size.mebibytes(props.ephemeralStorageMiB),
          layers: props.layers,
          reservedConcurrentExecutions: props.reservedConcurrentExecutions,
          ...props.functionProps,
        },
        required: {
          entry: props.entry,
          handler: 'handler',
          role: this.role,
          logGroup: this.logGroup,
          projectRoot: PROJECT_ROOT,
          depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
          environment: {
            POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'video-pipeline',
            POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'FanOutFanIn',
            ...props.environment,
          },
          bundling: {
            format: nodejs.OutputFormat.ESM,
            target: 'node24',
            minify: true,
            sourceMap: false,
            mainFields: ['module', 'main'],
            // Some dependencies (the X-Ray SDK) still call require(); ESM bundles need a shim.
            banner:
              "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
            // The Lambda runtime ships SDK v3; bundling it would add ~1 MB per function.
            externalModules: ['@aws-sdk/*'],
          },
        },
      })
    );
    skipCheckov(this.function, [
      {
        id: 'CKV_AWS_117',
        comment:
          'Calls only AWS public endpoints (S3, SNS, SQS, Step Functions); a VPC adds NAT cost and cold starts.',
      },
      {
        id: 'CKV_AWS_115',
        comment:
          'Concurrency is bounded where work enters: event source maxConcurrency and Map MaxConcurrency.',
      },
      {
        id: 'CKV_AWS_173',
        comment:
          'The environment holds resource names and settings only, no secrets; Lambda encrypts it at rest.',
      },
    ]);
  }
}
