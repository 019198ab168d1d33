#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { type AwsOptions, createClients, describeError, effectiveEndpoint } from './aws.js';
import {
  type Context,
  EXIT_IN_PROGRESS,
  resolveVideoId,
  runList,
  runMetrics,
  runStatus,
  runUpload,
} from './commands.js';
import { CliError, DEFAULT_OUTPUTS_FILES, DEFAULT_STACK, loadStackOutputs } from './config.js';
import { screenWidth, wrap } from './layout.js';
import { discoverDeadLetterQueues, resolveDeadLetterQueue, runRedriveDlq } from './redrive-dlq.js';
import { runRedriveSpill } from './redrive-spill.js';
import { runRedriveVideo, waitForExecution } from './redrive-video.js';
import { videoTrace } from './trace.js';
import { manifestExitCode, readManifest, say } from './watch.js';

/**
 * Video pipeline CLI: upload a video and watch its fan-out/fan-in, show one
 * video's manifest, or list recent videos.
 *
 * Exit codes:
 *   0  COMPLETE (upload without --watch: uploaded; list: listed)
 *   2  PARTIAL: some branches failed
 *   1  FAILED manifest, timeout, execution ended without a manifest, or any error
 *   3  status only: no manifest yet (still in progress)
 * redrive dlq: 0 once the move task COMPLETED (or nothing to move), 1 otherwise;
 * redrive video: like upload --watch (0 COMPLETE, 2 PARTIAL, 1 FAILED, refused or error).
 */

interface GlobalOptions extends AwsOptions {
  outputs?: string;
  stack?: string;
}

const positiveNumber = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`${what} must be a positive number`);
  return n;
};

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};

const contextFor = (g: GlobalOptions): Context => {
  const outputs = loadStackOutputs({ outputsFile: g.outputs, stack: g.stack });
  // Right after `npm run local` (or a LocalStack deploy) the outputs file already
  // says where the stack lives; an explicit endpoint always wins.
  if (!effectiveEndpoint(g) && outputs.localEndpoint) {
    g.endpointUrl = outputs.localEndpoint;
    const note =
      `note: using endpoint ${outputs.localEndpoint} (from the queue URLs in ${outputs.file}); ` +
      'set AWS_ENDPOINT_URL or --endpoint-url to override';
    process.stderr.write(`${wrap(note, screenWidth(process.stderr), 2)}\n`);
  }
  return {
    outputs,
    clients: createClients(g, outputs.stateMachineArn),
    out: process.stdout,
    err: process.stderr,
  };
};

/** Runs a command and turns any failure into one message on stderr (wrapped) and exit code 1. */
const run = async (g: GlobalOptions, fn: (ctx: Context) => Promise<number>): Promise<void> => {
  let ctx: Context | undefined;
  try {
    ctx = contextFor(g);
    process.exitCode = await fn(ctx);
  } catch (err) {
    const message = `error: ${describeError(err, effectiveEndpoint(g))}`;
    process.stderr.write(`${wrap(message, screenWidth(process.stderr), 2)}\n`);
    if (process.env.VIDEO_CLI_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  } finally {
    ctx?.clients.s3.destroy();
    ctx?.clients.sfn.destroy();
    ctx?.clients.sqs.destroy();
  }
};

/** The command's name: the package.json `bin` entry (`npx video-pipeline …`). */
export const CLI_NAME = 'video-pipeline';

const EXIT_CODES = {
  upload: [
    '0  uploaded (without --watch), or COMPLETE',
    '2  PARTIAL: some branches failed',
    '1  FAILED, timeout, execution ended without a manifest, or an error',
  ],
  status: [
    '0  COMPLETE',
    '2  PARTIAL: some branches failed',
    '1  FAILED, or an error (--watch: also a timeout, or an execution ended without a manifest)',
    `${EXIT_IN_PROGRESS}  no manifest yet (still in progress)`,
  ],
  list: ['0  listed', '1  an error'],
  metrics: ['0  printed', '1  an error (no local runtime endpoint, or it does not answer)'],
  'redrive dlq': [
    '0  the move task COMPLETED (or there was nothing to move)',
    '1  the task failed or is still running at --timeout, or an error',
  ],
  'redrive spill': [
    '0  every spilled batch was sent back and deleted (or there was none)',
    '1  a batch could not be read or sent (it stays in the bucket), or an error',
  ],
  'redrive video': [
    '0  COMPLETE (with --no-wait: the redrive started)',
    '2  PARTIAL: some branches failed again',
    '1  FAILED, refused, or an error',
  ],
} as const;

const exitCodesHelp = (lines: readonly string[]): string =>
  `\nExit codes:\n${lines.map((l) => `  ${l}`).join('\n')}\n\nSet VIDEO_CLI_DEBUG=1 to print stack traces.`;

/** `redrive video` for the nested command, `upload` for a top-level one. */
const pathOf = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

export const buildProgram = (): Command => {
  const program = new Command(CLI_NAME)
    .description('Upload videos to the fan-out/fan-in pipeline and follow them.')
    .option(
      '--outputs <file>',
      `stack outputs JSON (default: ${DEFAULT_OUTPUTS_FILES.join(', then ')})`
    )
    .option(
      '--stack <name>',
      `stack in the outputs file (default: the only one, or ${DEFAULT_STACK})`
    )
    .option('--endpoint-url <url>', 'endpoint for all AWS clients (default: AWS_ENDPOINT_URL)')
    .option('--region <region>', 'AWS region (default: AWS_REGION, else the stack ARN region)')
    .option('--profile <name>', 'AWS shared-config profile')
    // Subcommands inherit this (commander copies help settings at .command()), so
    // `upload --help` lists --outputs, --endpoint-url and --profile too.
    .configureHelp({ showGlobalOptions: true })
    // Help wraps (with commander's own hanging indent) at the width every screen uses.
    .configureOutput({
      getOutHelpWidth: () => screenWidth(process.stdout),
      getErrHelpWidth: () => screenWidth(process.stderr),
    })
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Exit codes:
  0  COMPLETE (or: uploaded without --watch, listed)
  2  PARTIAL: some branches failed
  1  FAILED, timeout, or an error
  ${EXIT_IN_PROGRESS}  status: no manifest yet

Run \`${CLI_NAME} <command> --help\` for a command's options and exit codes.
Set VIDEO_CLI_DEBUG=1 to print stack traces.`
    );

  program
    .command('upload')
    .description('upload a video under uploads/ and print its videoId')
    .argument('<file>', 'local file (non-videos are uploaded too, with a warning)')
    .option('--watch', 'follow the execution until the manifest exists')
    .option('--key <key>', 'S3 key under uploads/ (default: uploads/<file name>)')
    .option('--thumbnail-times <list>', 'extra thumbnail times in seconds, e.g. 1,2.5')
    .option(
      '--timeout <seconds>',
      'give up watching after this long',
      positiveNumber('--timeout'),
      900
    )
    .option('--interval <seconds>', 'poll interval while watching', positiveNumber('--interval'), 2)
    .action(async (file: string, o, cmd: Command) => {
      await run(cmd.optsWithGlobals<GlobalOptions>(), (ctx) =>
        runUpload(ctx, file, {
          watch: o.watch,
          key: o.key,
          thumbnailTimes: o.thumbnailTimes,
          timeoutSec: o.timeout,
          intervalMs: o.interval * 1000,
        })
      );
    });

  program
    .command('status')
    .description("show a video's manifest, or a snapshot of its progress")
    .argument(
      '<videoId>',
      'the id printed by upload (also the execution name), or an uploads/… key: its current video'
    )
    .option('--trace', "print the video's trace: one span per Lambda invocation, from the logs")
    .option(
      '--watch',
      'follow the run until the manifest exists (per rendition: segments, audio, join)'
    )
    .option(
      '--timeout <seconds>',
      'give up watching after this long',
      positiveNumber('--timeout'),
      900
    )
    .option('--interval <seconds>', 'poll interval while watching', positiveNumber('--interval'), 2)
    .action(
      async (
        videoId: string,
        o: { trace?: boolean; watch?: boolean; timeout: number; interval: number },
        cmd: Command
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        await run(g, async (ctx) => {
          const code = await runStatus(
            ctx,
            videoId,
            o.watch ? { timeoutSec: o.timeout, intervalMs: o.interval * 1000 } : undefined
          );
          if (o.trace) {
            // contextFor has resolved the endpoint (explicit, or the outputs file's local one).
            const resolved = await resolveVideoId(ctx, videoId);
            ctx.out.write(`\n${await videoTrace(effectiveEndpoint(g), resolved)}\n`);
          }
          return code;
        });
      }
    );

  program
    .command('list')
    .description('list recent videos (manifests and running executions)')
    .option('--limit <n>', 'how many to show', positiveInt('--limit'), 20)
    .action(async (o, cmd: Command) => {
      await run(cmd.optsWithGlobals<GlobalOptions>(), (ctx) => runList(ctx, o.limit));
    });

  program
    .command('metrics')
    .description(
      'branches per kind and tenant, upload → manifest latency and backpressure, from the ' +
        "local runtime's EMF records (the dashboard's figures)"
    )
    .option('--json', 'print the figures as JSON')
    .action(async (o, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // contextFor has resolved the endpoint (explicit, or the outputs file's local one).
      await run(g, (ctx) => runMetrics(ctx, effectiveEndpoint(g), { json: o.json }));
    });

  const redrive = program
    .command('redrive')
    .description(
      're-run what failed: a DLQ back to its source queue, or a video’s failed branches'
    );

  redrive
    .command('dlq')
    .description('move a dead-letter queue’s messages back to its source (StartMessageMoveTask)')
    .argument(
      '<queue>',
      'logical name (StartWorkflowDeadLetterQueue, or StartWorkflow), queue name, URL or ARN'
    )
    .option('--to <queue>', 'destination queue URL or ARN (default: the DLQ’s source queue)')
    .option('--rate <n>', 'MaxNumberOfMessagesPerSecond', positiveInt('--rate'))
    .option('--timeout <seconds>', 'give up following the task', positiveNumber('--timeout'), 600)
    .action(async (queue: string, o, cmd: Command) => {
      await run(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        const dlqs = await discoverDeadLetterQueues(ctx.clients.sqs, ctx.outputs.queueUrls ?? {});
        const dlq = resolveDeadLetterQueue(queue, dlqs);
        const result = await runRedriveDlq(ctx.clients.sqs, dlq, ctx.out, {
          to: o.to,
          rate: o.rate,
          timeoutMs: o.timeout * 1000,
          targetName: targetNameOf(ctx.clients.endpoint),
        });
        say(ctx.out, `moved ${result.moved} message(s) (${result.status})`);
        return 0;
      });
    });

  redrive
    .command('spill')
    .description(
      'send the batches an overflow policy spilled to a bucket back into their input queue'
    )
    .argument('<bucket>', 'the spill bucket’s name')
    .option('--input <name>', 'only this input’s batches (its inputName)')
    .option('--to <queue>', 'destination queue URL (default: each batch’s own input queue)')
    .action(async (bucket: string, o, cmd: Command) => {
      await run(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        const result = await runRedriveSpill(ctx.clients, ctx.out, {
          bucket,
          input: o.input,
          to: o.to,
          queueUrls: ctx.outputs.queueUrls ?? {},
        });
        say(ctx.out, `sent ${result.messages} message(s) from ${result.objects} batch(es)`);
        return 0;
      });
    });

  redrive
    .command('video')
    .description('re-run a FAILED or PARTIAL video’s failed branches and rewrite its manifest')
    .argument('<videoId>', 'the id printed by upload')
    .option('--no-wait', 'start the redrive and return')
    .option(
      '--timeout <seconds>',
      'give up waiting after this long',
      positiveNumber('--timeout'),
      900
    )
    .action(async (videoId: string, o, cmd: Command) => {
      await run(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        const result = await runRedriveVideo(
          ctx.clients,
          {
            outputBucket: ctx.outputs.outputBucket,
            stateMachineArn: ctx.outputs.stateMachineArn,
            targetName: targetNameOf(ctx.clients.endpoint),
          },
          videoId,
          ctx.out
        );
        say(ctx.out, `execution: ${result.executionArn}`);
        if (!o.wait || !result.executionArn) return 0;
        const status = await waitForExecution(ctx.clients, result.executionArn, o.timeout * 1000);
        const manifest = await readManifest(ctx.clients.s3, ctx.outputs.outputBucket, videoId);
        if (!manifest) throw new CliError(`redrive ended ${status} without a manifest`);
        say(
          ctx.out,
          `redrive ended ${status}; manifest ${manifest.status}${manifest.reason ? `: ${manifest.reason}` : ''}`
        );
        return manifestExitCode(manifest);
      });
    });

  // Every command's help ends with its own exit codes (a group's: those of its commands).
  const addExitCodes = (cmd: Command) => {
    for (const sub of cmd.commands) {
      const path = pathOf(sub);
      const own = EXIT_CODES[path as keyof typeof EXIT_CODES];
      const lines =
        own ??
        sub.commands.flatMap((c) => [
          `${c.name()}:`,
          ...(EXIT_CODES[pathOf(c) as keyof typeof EXIT_CODES] ?? []).map((l) => `  ${l}`),
        ]);
      sub.addHelpText('after', exitCodesHelp(lines));
      addExitCodes(sub);
    }
  };
  addExitCodes(program);
  return program;
};

/** How messages name the target: the local runtime and LocalStack both live on 127.0.0.1. */
const targetNameOf = (endpoint: string | undefined): string =>
  endpoint ? `the target at ${endpoint}` : 'AWS';

/** Parses `argv` (node, script, args…) and runs the command; sets process.exitCode. */
export const runCli = async (argv: readonly string[]): Promise<void> => {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    // Commander already printed its message (usage errors, --help).
    process.exitCode = err instanceof CommanderError ? err.exitCode : 1;
  }
};

const isMain =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));

if (isMain) await runCli(process.argv);
