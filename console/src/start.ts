import type { Server } from 'node:http';
import { type AwsOptions, createClients, effectiveEndpoint } from '../../cli/src/aws.js';
import { loadStackOutputs, type StackOutputs } from '../../cli/src/config.js';
import { hostName } from '../../shared/local-http-guard.js';
import { buildAssets } from './assets.js';
import { createSqsClient, queueUrlsOf } from './data.js';
import { consoleAllowLists, newConsoleToken } from './security.js';
import { createConsoleServer } from './server.js';

export interface ConsoleOptions extends AwsOptions {
  /** `--outputs`; default: the CLI's (.local/outputs.json, then cdk-outputs.json). */
  outputs?: string;
  stack?: string;
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
}

export interface RunningConsole {
  url: string;
  /** The per-process token mutating requests carry in X-Console-Token (also in the page). */
  token: string;
  outputs: StackOutputs;
  endpoint: string | undefined;
  close(): Promise<void>;
}

/** The address to open: a wildcard bind is still reached through loopback (an accepted Host). */
const urlHost = (bindHost: string): string =>
  bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost === '::' ? '[::1]' : hostName(bindHost);

/**
 * Finds the target the way the CLI does (outputs file; AWS_ENDPOINT_URL or
 * --endpoint-url; else the endpoint in the file's queue URLs), then listens.
 */
export const startConsole = async (opts: ConsoleOptions): Promise<RunningConsole> => {
  // The allow-lists first: a typo in them fails before anything starts.
  const allowLists = consoleAllowLists();
  const aws: AwsOptions = { ...opts };
  const outputs = loadStackOutputs({ outputsFile: opts.outputs, stack: opts.stack });
  if (!effectiveEndpoint(aws) && outputs.localEndpoint) aws.endpointUrl = outputs.localEndpoint;
  const clients = createClients(aws, outputs.stateMachineArn);
  const sqs = createSqsClient(aws, outputs.stateMachineArn);
  const target = { outputs, clients, sqs, queues: queueUrlsOf(outputs.file, outputs.stackName) };
  const host = opts.host ?? '127.0.0.1';
  const token = newConsoleToken();
  const server: Server = createConsoleServer(target, await buildAssets(), {
    token,
    bindHost: host,
    allowLists,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    url: `http://${urlHost(host)}:${port}`,
    token,
    outputs,
    endpoint: clients.endpoint,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clients.s3.destroy();
      clients.sfn.destroy();
      sqs.destroy();
    },
  };
};
