import * as path from 'node:path';
import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from '../project-root.js';

export interface PipelineFunctionProps {
  /** Path of the handler module (TypeScript), exporting `handler`. */
  readonly entry: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default - no extra environment */
  readonly environment?: Record<string, string>;
  /** @default - no layers */
  readonly layers?: lambda.ILayerVersion[];
  /** @default lambda.Architecture.ARM_64 (cheaper); functions that run native x86 binaries pass X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default Size of 512 MiB (the free tier) */
  readonly ephemeralStorageMiB?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - no reserved concurrency */
  readonly reservedConcurrentExecutions?: number;
  /** @default 'video-pipeline' */
  readonly serviceName?: string;
  /** @default 'FanOutFanIn' */
  readonly metricsNamespace?: string;
}

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

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
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

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      ephemeralStorageSize: props.ephemeralStorageMiB
        ? Size.mebibytes(props.ephemeralStorageMiB)
        : undefined,
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      layers: props.layers,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
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
    });
  }
}
