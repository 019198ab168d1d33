import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../src/index.js';
import {
  csvItems,
  itemReaderProblems,
  listedObjectItem,
  parseDelimited,
} from '../src/sfn/item-reader.js';
import {
  type AssemblyRuntime,
  startOnAssembly,
  stateMachineResources,
  writeAssembly,
} from './helpers.js';

// Expected values come from the AWS pages, not from the implementation:
// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
// https://docs.aws.amazon.com/step-functions/latest/dg/example-csv-parse-dist-map.html

describe('CSV parsing as Step Functions documents it', () => {
  it('keeps commas, newlines and doubled quotes inside a quoted field', () => {
    // Prepare: the AWS page's one-row example.
    const row =
      'abc,123,"This string contains commas, a double quotation marks (""), and a newline (\n)",{""MyKey"":""MyValue""},"[1,2,3]"';

    // Act
    const records = parseDelimited(row);

    // Assess
    expect(records).toEqual([
      [
        'abc',
        '123',
        'This string contains commas, a double quotation marks ("), and a newline (\n)',
        '{"MyKey":"MyValue"}',
        '[1,2,3]',
      ],
    ]);
  });

  it('treats a backslash as an escape for backslash, quote and delimiter, and drops it elsewhere', () => {
    // Act
    const records = parseDelimited('C:\\\\Program Files\\\\MyApp.exe,6534512\na\\,b,\\"q\\",\\x\n');

    // Assess
    expect(records).toEqual([
      ['C:\\Program Files\\MyApp.exe', '6534512'],
      ['a,b', '"q"', 'x'],
    ]);
  });

  it('separates records on LF and CRLF, and a final newline adds no record', () => {
    expect(parseDelimited('a,b\r\nc,d\ne,f\n')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
  });

  it('refuses a quoted field that never closes', () => {
    expect(() => parseDelimited('a,"open\nb')).toThrow(/not closed/);
  });

  it('maps rows to string values by header: short rows get "", extra fields are skipped', () => {
    // Act
    const items = csvItems('id,score,note\n1,3.5,"x, y"\n2\n3,4,z,extra\n', {
      InputType: 'CSV',
      CSVHeaderLocation: 'FIRST_ROW',
    });

    // Assess
    expect(items).toEqual([
      { id: '1', score: '3.5', note: 'x, y' },
      { id: '2', score: '', note: '' },
      { id: '3', score: '4', note: 'z' },
    ]);
  });

  it('uses the given headers and the configured delimiter', () => {
    const items = csvItems('1|307|3.5\n1|481|3.5\n', {
      InputType: 'CSV',
      CSVHeaderLocation: 'GIVEN',
      CSVHeaders: ['userId', 'movieId', 'rating'],
      CSVDelimiter: 'PIPE',
    });
    expect(items).toEqual([
      { userId: '1', movieId: '307', rating: '3.5' },
      { userId: '1', movieId: '481', rating: '3.5' },
    ]);
  });

  it('refuses duplicate headers and an empty file with FIRST_ROW', () => {
    const cfg = { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' };
    expect(() => csvItems('a,a\n1,2\n', cfg)).toThrow(/duplicates/);
    expect(() => csvItems('', cfg)).toThrow(/empty/);
  });
});

describe('ItemReader definitions', () => {
  it('accepts the readers the runtime runs and names what it does not', () => {
    const get = 'arn:aws:states:::s3:getObject';
    expect(itemReaderProblems({ Resource: get, ReaderConfig: { InputType: 'JSON' } })).toEqual([]);
    expect(
      itemReaderProblems({
        Resource: get,
        ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      })
    ).toEqual([]);
    expect(itemReaderProblems({ Resource: 'arn:aws:states:::s3:listObjectsV2' })).toEqual([]);
    expect(itemReaderProblems({ Resource: get, ReaderConfig: { InputType: 'MANIFEST' } })).toEqual([
      'ItemReader InputType MANIFEST',
    ]);
    expect(
      itemReaderProblems({
        Resource: get,
        ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'GIVEN', CSVDelimiter: 'HASH' },
      })
    ).toEqual([
      'ItemReader CSVHeaderLocation GIVEN without CSVHeaders',
      'ItemReader CSVDelimiter HASH',
    ]);
  });

  it('gives a listed object as Etag, Key, LastModified (epoch seconds), Size, StorageClass', () => {
    expect(
      listedObjectItem({
        ETag: '"05704fbdccb224cb01c59005bebbad28"',
        Key: 'processData/images/n02085620_1073.jpg',
        LastModified: new Date('2022-11-17T15:44:41.000Z'),
        Size: 34910,
        StorageClass: 'STANDARD',
      })
    ).toEqual({
      Etag: '"05704fbdccb224cb01c59005bebbad28"',
      Key: 'processData/images/n02085620_1073.jpg',
      LastModified: 1668699881,
      Size: 34910,
      StorageClass: 'STANDARD',
    });
  });
});

const BUCKET = 'item-readers';
const passThrough = {
  ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
  StartAt: 'Echo',
  States: { Echo: { Type: 'Pass', End: true } },
};
const machines: Record<string, Record<string, unknown>> = {
  CsvFirstRow: {
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
    },
  },
  CsvGiven: {
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: {
        InputType: 'CSV',
        CSVHeaderLocation: 'GIVEN',
        CSVHeaders: ['user', 'movie'],
        MaxItemsPath: '$.max',
      },
      Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
    },
    ItemSelector: { 'movie.$': 'States.StringToJson($$.Map.Item.Value.movie)' },
  },
  Listing: {
    ItemReader: {
      Resource: 'arn:aws:states:::s3:listObjectsV2',
      ReaderConfig: { MaxItems: 2 },
      Parameters: { Bucket: BUCKET, 'Prefix.$': '$.prefix' },
    },
  },
};

const assembly = (): string =>
  writeAssembly('item-reader', {
    Items: { Type: 'AWS::S3::Bucket', Properties: { BucketName: BUCKET } },
    ...stateMachineResources(
      Object.fromEntries(
        Object.entries(machines).map(([name, fields]) => [
          name,
          {
            StartAt: 'Fan',
            States: { Fan: { Type: 'Map', ...fields, ItemProcessor: passThrough, End: true } },
          },
        ])
      )
    ),
  });

describe('ItemReaders on the local runtime', { timeout: 60_000 }, () => {
  let rt: LocalRuntime;
  let s3: S3Client;
  let sfn: SFNClient;
  const put = (Key: string, Body: string) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  const execute = async (machine: string, input: object) => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: `arn:aws:states:${rt.region}:000000000000:stateMachine:${machine}`,
        input: JSON.stringify(input),
      })
    );
    return rt.stepFunctions.waitForExecution(executionArn!);
  };

  let runtime: AssemblyRuntime;
  beforeAll(async () => {
    runtime = await startOnAssembly(assembly());
    ({ rt, s3, sfn } = runtime);
  }, 60_000);
  afterAll(() => runtime?.close());

  it('reads a CSV file with its header row, every value a string', async () => {
    // Prepare
    await put('ratings.csv', 'userId,title\n1,"Heat, 1995"\n2,"say ""hi""\nthere"\n');

    // Act
    const d = await execute('CsvFirstRow', { key: 'ratings.csv' });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual([
      { userId: '1', title: 'Heat, 1995' },
      { userId: '2', title: 'say "hi"\nthere' },
    ]);
  });

  it('reads a CSV file with given headers, stops at MaxItemsPath and converts in ItemSelector', async () => {
    // Prepare
    await put('given.csv', '1,307\n1,481\n1,1091\n');

    // Act
    const d = await execute('CsvGiven', { key: 'given.csv', max: 2 });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual([{ movie: 307 }, { movie: 481 }]);
  });

  it('lists the objects under a prefix (all pages), up to MaxItems, as AWS shapes them', async () => {
    // Prepare: a key outside the prefix must not be listed.
    const before = Math.floor(Date.now() / 1000);
    await put('images/b.jpg', 'bb');
    await put('images/a.jpg', 'a');
    await put('images/c.jpg', 'ccc');
    await put('other/d.jpg', 'dddd');

    // Act
    const d = await execute('Listing', { prefix: 'images/' });

    // Assess: S3's key order, the first two only.
    expect(d.status).toBe('SUCCEEDED');
    const items = JSON.parse(d.output!);
    const md5 = (s: string) => `"${createHash('md5').update(s).digest('hex')}"`;
    expect(items).toEqual([
      {
        Etag: md5('a'),
        Key: 'images/a.jpg',
        LastModified: expect.any(Number),
        Size: 1,
        StorageClass: 'STANDARD',
      },
      {
        Etag: md5('bb'),
        Key: 'images/b.jpg',
        LastModified: expect.any(Number),
        Size: 2,
        StorageClass: 'STANDARD',
      },
    ]);
    expect(items[0].LastModified).toBeGreaterThanOrEqual(before - 1);
    expect(items[0].LastModified).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it('fails with States.ItemReaderFailed when the CSV cannot be read', async () => {
    // Prepare
    await put('broken.csv', 'a,b\n1,"never closed\n');

    // Act
    const broken = await execute('CsvFirstRow', { key: 'broken.csv' });
    const missing = await execute('CsvFirstRow', { key: 'nope.csv' });

    // Assess
    expect(broken).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(broken.cause).toMatch(/s3:\/\/item-readers\/broken\.csv: .*not closed/);
    expect(missing).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
  });
});
