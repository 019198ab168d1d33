import type { ICloudAssemblySource } from '@aws-cdk/toolkit-lib';
import {
  BaseCredentials,
  BootstrapEnvironments,
  type IIoHost,
  type IoMessage,
  type IoRequest,
  NonInteractiveIoHost,
  StackSelectionStrategy,
  Toolkit,
} from '@aws-cdk/toolkit-lib';
import { STACK_NAME } from '../../contract/stack.js';

/** toolkit-lib's request to confirm a deploy, which carries the full (security) diff. */
export const DEPLOY_CONFIRMATION_CODE = 'CDK_TOOLKIT_I5060';

/**
 * The library's own non-interactive host (prints progress, the stack event history and, at the
 * end of a failed deploy, the FAILED resources with their reasons), except that the deploy
 * confirmation is answered "yes" without printing its diff, as the CLI's
 * `--require-approval never` does: the diff of a first deploy is ~190 lines of noise in CI logs.
 */
export class DeployIoHost implements IIoHost {
  constructor(private readonly inner: IIoHost = new NonInteractiveIoHost()) {}

  notify(msg: IoMessage<unknown>): Promise<void> {
    return this.inner.notify(msg);
  }

  async requestResponse<T>(msg: IoRequest<unknown, T>): Promise<T> {
    if (msg.code === DEPLOY_CONFIRMATION_CODE) return true as T;
    return this.inner.requestResponse(msg);
  }
}

/**
 * A toolkit whose SDK clients use the static LocalStack credentials and the region. The endpoint
 * comes from `AWS_ENDPOINT_URL` in the process environment (see `localstackEnv`).
 */
export const localstackToolkit = (region: string, ioHost: IIoHost) =>
  new Toolkit({
    ioHost,
    sdkConfig: {
      baseCredentials: BaseCredentials.custom({
        provider: async () => ({ accessKeyId: 'test', secretAccessKey: 'test' }),
        region,
      }),
    },
  });

/** `cdk bootstrap aws://<account>/<region>`: a no-op when the CDKToolkit stack is current. */
export const bootstrap = (toolkit: Toolkit, environment: string) =>
  toolkit.bootstrap(BootstrapEnvironments.fromList([environment]));

/** `cdk deploy <stack> --outputs-file <file>` of an already produced assembly. */
export const deployStack = (
  toolkit: Toolkit,
  assembly: ICloudAssemblySource,
  outputsFile: string
) =>
  toolkit.deploy(assembly, {
    stacks: { strategy: StackSelectionStrategy.PATTERN_MUST_MATCH_SINGLE, patterns: [STACK_NAME] },
    outputsFile,
  });
