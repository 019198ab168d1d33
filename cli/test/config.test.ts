import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CliError,
  isLocalEndpoint,
  loadStackOutputs,
  parseStackOutputs,
  regionOfArn,
} from '../src/config.js';

const stackValues = {
  UploadBucketName: 'up',
  OutputBucketName: 'out',
  StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Video',
  UploadTopicArn: 'arn:aws:sns:us-east-1:000000000000:uploads',
};

describe('loadStackOutputs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says which paths it tried and how to create the file when none exists', () => {
    // Prepare
    const cwd = dir;

    // Act
    const act = () => loadStackOutputs({ cwd });

    // Assess
    expect(act).toThrow(CliError);
    expect(act).toThrow(
      `no outputs file found (tried ${join(dir, '.local/outputs.json')}, ${join(dir, 'cdk-outputs.json')}): ` +
        '`npm run local` writes .local/outputs.json; for AWS run `cdk deploy --outputs-file cdk-outputs.json`, or pass --outputs <file>'
    );
  });

  it('tries only --outputs when it is given', () => {
    // Prepare
    const cwd = dir;

    // Act
    const act = () => loadStackOutputs({ cwd, outputsFile: 'custom.json' });

    // Assess
    expect(act).toThrow(`tried ${join(dir, 'custom.json')})`);
  });

  it('falls back to cdk-outputs.json and picks the only stack', async () => {
    // Prepare
    await writeFile(join(dir, 'cdk-outputs.json'), JSON.stringify({ MyStack: stackValues }));

    // Act
    const outputs = loadStackOutputs({ cwd: dir });

    // Assess
    expect(outputs).toEqual({
      stackName: 'MyStack',
      file: join(dir, 'cdk-outputs.json'),
      uploadBucket: 'up',
      outputBucket: 'out',
      stateMachineArn: stackValues.StateMachineArn,
    });
  });

  it('keeps every …QueueUrl output by name (redrive dlq finds the DLQs from them)', async () => {
    // Prepare
    const queues = {
      StartWorkflowQueueUrl: 'http://127.0.0.1:4566/000000000000/starter',
      StartWorkflowDeadLetterQueueUrl: 'http://127.0.0.1:4566/000000000000/starter-dlq',
    };
    await writeFile(
      join(dir, 'cdk-outputs.json'),
      JSON.stringify({ MyStack: { ...stackValues, ...queues } })
    );

    // Act
    const outputs = loadStackOutputs({ cwd: dir });

    // Assess
    expect(outputs.queueUrls).toEqual(queues);
  });

  it('prefers .local/outputs.json over cdk-outputs.json', async () => {
    // Prepare
    await writeFile(join(dir, 'cdk-outputs.json'), JSON.stringify({ Aws: stackValues }));
    await mkdir(join(dir, '.local'));
    await writeFile(
      join(dir, '.local/outputs.json'),
      JSON.stringify({ VideoPipeline: { ...stackValues, UploadBucketName: 'local-up' } })
    );

    // Act
    const outputs = loadStackOutputs({ cwd: dir });

    // Assess
    expect(outputs.uploadBucket).toBe('local-up');
  });

  it('defaults to VideoPipeline among several stacks and honours --stack', async () => {
    // Prepare
    const file = join(dir, 'outputs.json');
    await writeFile(
      file,
      JSON.stringify({
        Other: { ...stackValues, OutputBucketName: 'other-out' },
        VideoPipeline: stackValues,
      })
    );

    // Act
    const byDefault = loadStackOutputs({ outputsFile: file });
    const picked = loadStackOutputs({ outputsFile: file, stack: 'Other' });

    // Assess
    expect(byDefault.stackName).toBe('VideoPipeline');
    expect(picked.outputBucket).toBe('other-out');
  });

  it('asks for --stack when several stacks hold no VideoPipeline', async () => {
    // Prepare
    const file = join(dir, 'outputs.json');
    await writeFile(file, JSON.stringify({ A: stackValues, B: stackValues }));

    // Act
    const act = () => loadStackOutputs({ outputsFile: file });

    // Assess
    expect(act).toThrow('holds several stacks (A, B): pick one with --stack');
  });

  it('names the missing output key', async () => {
    // Prepare
    const file = join(dir, 'outputs.json');
    const { StateMachineArn: _omitted, ...partial } = stackValues;
    await writeFile(file, JSON.stringify({ VideoPipeline: partial }));

    // Act
    const act = () => loadStackOutputs({ outputsFile: file });

    // Assess
    expect(act).toThrow(`outputs file ${file} has no StateMachineArn for stack VideoPipeline`);
  });

  it('reports a file that is not JSON', async () => {
    // Prepare
    const file = join(dir, 'outputs.json');
    await writeFile(file, '{ not json');

    // Act
    const act = () => loadStackOutputs({ outputsFile: file });

    // Assess
    expect(act).toThrow(`outputs file ${file} is not JSON`);
  });

  it('reports an unknown --stack with the stacks it has', async () => {
    // Prepare
    const file = join(dir, 'outputs.json');
    await writeFile(file, JSON.stringify({ VideoPipeline: stackValues }));

    // Act
    const act = () => loadStackOutputs({ outputsFile: file, stack: 'Nope' });

    // Assess
    expect(act).toThrow(`stack Nope not found in ${file} (stacks: VideoPipeline)`);
  });
});

describe('endpoint and ARN helpers', () => {
  it.each([
    ['http://127.0.0.1:4566', true],
    ['http://localhost:4566/', true],
    ['https://s3.eu-west-1.amazonaws.com', false],
    ['not a url', false],
    [undefined, false],
  ])('isLocalEndpoint(%s) is %s', (url, expected) => {
    // Prepare
    const input = url;

    // Act
    const local = isLocalEndpoint(input);

    // Assess
    expect(local).toBe(expected);
  });

  it('reads the region from an ARN', () => {
    // Prepare
    const arn = 'arn:aws:states:ap-south-1:123456789012:stateMachine:Video';

    // Act
    const region = regionOfArn(arn);

    // Assess
    expect(region).toBe('ap-south-1');
  });
});

describe('parseStackOutputs: where the stack lives', () => {
  it.each([
    {
      description: 'the local runtime or LocalStack (queue URL on 127.0.0.1)',
      queueUrl: 'http://127.0.0.1:4566/000000000000/VideoPipeline-StartWorkflowWorkerQueue',
      expected: 'http://127.0.0.1:4566',
    },
    {
      description: 'AWS (queue URL on sqs.<region>.amazonaws.com)',
      queueUrl:
        'https://sqs.eu-west-1.amazonaws.com/123456789012/VideoPipeline-StartWorkflowWorkerQueue',
      expected: undefined,
    },
  ])('finds the endpoint of $description', ({ queueUrl, expected }) => {
    // Prepare
    const text = JSON.stringify({
      VideoPipeline: { ...stackValues, StartWorkflowQueueUrl: queueUrl },
    });

    // Act
    const outputs = parseStackOutputs(text, '/x/outputs.json', undefined);

    // Assess
    expect(outputs.localEndpoint).toBe(expected);
  });
});
