/**
 * `npm run demo`: the product on one machine, no Docker, no AWS account.
 * Synthesizes if the assembly is stale, starts the local runtime from it,
 * generates a clip, uploads it with the project's CLI (the same command a user
 * runs against AWS) and watches the fan-out and fan-in, then downloads the
 * outputs next to you and stops everything.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ManifestSchema,
  manifestKey,
  OUTPUT_PREFIX,
  outputPrefix,
  STACK_NAME,
  videoIdStemOf,
} from '../contract/index.js';
import { cleanupMedia, makeClip } from '../fixtures/media.js';
import {
  ensureAssembly,
  type Logger,
  ROOT as root,
  startLocalRuntime,
} from '../local-runtime/src/index.js';
import { fallbackNotice, fetchFfmpegBuild } from './fetch-ffmpeg.js';

const assemblyDir = join(root, 'cdk.out');
const stackName = STACK_NAME;
const demoDir = join(root, '.local', 'demo');
const t0 = performance.now();
const since = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
const say = (msg: string) => console.log(`\x1b[1m[demo ${since()}]\x1b[0m ${msg}`);

/** Function logs go to a file so the terminal shows the pipeline, not log lines. */
const fileLogger = (path: string): Logger => {
  const out = createWriteStream(path);
  const write = (level: string) => (m: string) => out.write(`${level} ${m}\n`);
  return { info: write('INFO'), warn: write('WARN'), error: write('ERROR'), debug: () => {} };
};

const runCli = (args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<number>((resolvePromise) => {
    const child = spawn('npx', ['tsx', join(root, 'cli/src/main.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolvePromise(code ?? 1));
  });

const main = async () => {
  // The pinned ffmpeg for the layer (docs/ffmpeg.md); a fresh fetch changes the layer, so re-synth.
  const ffmpegBuild = fetchFfmpegBuild({ log: (line) => say(`ffmpeg: ${line}`) });
  if (ffmpegBuild.status === 'unavailable') console.warn(fallbackNotice(ffmpegBuild.reason));
  // A new ffmpeg build changes the layer, which the inputs hash does not read (157 MB).
  const { synthesized } = await ensureAssembly({
    force: ffmpegBuild.status === 'installed' ? 'a new ffmpeg build was installed' : undefined,
    log: (line) =>
      say(
        line.startsWith('synthesizing')
          ? `${line} (cdk synth: the local runtime runs exactly this template and these bundles)`
          : line
      ),
  });
  if (synthesized) say('synthesized cdk.out');
  mkdirSync(demoDir, { recursive: true });
  const logFile = join(demoDir, 'runtime.log');
  // Not .local/outputs.json: that file belongs to `npm run local`, and this
  // runtime's random port is dead once the demo ends, so a later
  // `npm run list` would fail with "cannot reach".
  const outputsFile = join(demoDir, 'outputs.json');
  say(
    'starting the local runtime (fauxqs for S3/SNS/SQS, aws-local-stepfunctions, Lambdas as processes)'
  );
  const runtime = await startLocalRuntime({
    assemblyDir,
    stackName,
    port: 0,
    outputsFile,
    logger: fileLogger(logFile),
  });
  let exitCode = 1;
  try {
    say(`runtime up at ${runtime.endpoint}; function logs → ${logFile}`);
    say('generating an 8 s 1280x720 H.264/AAC sample clip with ffmpeg');
    const clip = await makeClip({ seconds: 8, width: 1280, height: 720 });
    say('uploading it under uploads/ and watching the fan-out and fan-in:');
    const env = {
      AWS_ENDPOINT_URL: runtime.endpoint,
      AWS_REGION: runtime.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    exitCode = await runCli(
      ['upload', clip, '--key', DEMO_KEY, '--watch', '--outputs', outputsFile],
      env
    );
    await downloadOutputs(runtime.endpoint, runtime.region, runtime.outputs);
  } finally {
    cleanupMedia();
    await runtime.stop();
    say(`runtime stopped (exit code ${exitCode})`);
  }
  process.exit(exitCode);
};

/** The demo's upload: tenant `demo`. */
const DEMO_KEY = 'uploads/demo/sample-720p.mp4';

/** Copies every artifact of the newest demo manifest to .local/demo/outputs/<videoId>/. */
const downloadOutputs = async (
  endpoint: string,
  region: string,
  outputs: Record<string, string>
) => {
  const s3 = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const listed = await s3.send(
    new ListObjectsV2Command({
      Bucket: outputs.OutputBucketName,
      // The videoId is `<stem>-<hash>`; the hash needs the version, which the upload did not keep.
      Prefix: `${OUTPUT_PREFIX}${videoIdStemOf(DEMO_KEY)}-`,
    })
  );
  const manifestObject = listed.Contents?.find((o) => o.Key?.endsWith('/manifest.json'));
  if (!manifestObject?.Key) {
    say('no manifest was written (see the runtime log)');
    return;
  }
  const videoId = manifestObject.Key.split('/')[1];
  const get = async (key: string) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: outputs.OutputBucketName, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };
  const manifest = ManifestSchema.parse(JSON.parse((await get(manifestKey(videoId))).toString()));
  const target = join(demoDir, 'outputs', videoId);
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'manifest.json'), JSON.stringify(manifest, null, 2));
  for (const artifact of manifest.branches.flatMap((b) => b.artifacts)) {
    const file = join(target, artifact.key.slice(outputPrefix(videoId).length));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, await get(artifact.key));
  }
  say(
    `manifest ${manifest.status}: outputs are in s3://${outputs.OutputBucketName}/outputs/${videoId}/`
  );
  say(`and copied to ${target}/ (thumbnails/, renditions/, metadata.json, manifest.json)`);
};

main().catch((err) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
