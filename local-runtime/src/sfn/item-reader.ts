import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseItems } from './distributed-map.js';

/**
 * The Distributed Map's ItemReader on the runtime's S3: a JSON, JSON Lines or CSV object
 * (`arn:aws:states:::s3:getObject`) or an object listing (`arn:aws:states:::s3:listObjectsV2`).
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
 * Parsing is pure and exported for tests; only `readItems` does I/O.
 */

export const GET_OBJECT_READER = 'arn:aws:states:::s3:getObject';
export const LIST_OBJECTS_READER = 'arn:aws:states:::s3:listObjectsV2';
export const GET_OBJECT_INPUT_TYPES = ['JSON', 'JSONL', 'CSV'] as const;

/** `ReaderConfig.CSVDelimiter` values and the character each stands for. */
export const CSV_DELIMITERS: Readonly<Record<string, string>> = {
  COMMA: ',',
  PIPE: '|',
  SEMICOLON: ';',
  SPACE: ' ',
  TAB: '\t',
};

export interface ReaderConfig {
  InputType?: string;
  CSVHeaderLocation?: string;
  CSVHeaders?: string[];
  CSVDelimiter?: string;
  MaxItems?: number;
  MaxItemsPath?: string;
}

/** The reader's definition problems, by name (empty when the runtime can run it). */
export function itemReaderProblems(reader: {
  Resource?: string;
  ReaderConfig?: ReaderConfig;
}): string[] {
  const config = reader.ReaderConfig ?? {};
  if (reader.Resource === LIST_OBJECTS_READER) {
    return config.InputType === undefined
      ? []
      : [`ItemReader InputType ${config.InputType} with s3:listObjectsV2 (it takes none)`];
  }
  if (reader.Resource !== GET_OBJECT_READER) return [`ItemReader Resource ${reader.Resource}`];
  const type = config.InputType;
  if (type === undefined || !(GET_OBJECT_INPUT_TYPES as readonly string[]).includes(type)) {
    return [`ItemReader InputType ${type ?? '(none)'}`];
  }
  if (type !== 'CSV') return [];
  const problems: string[] = [];
  const location = config.CSVHeaderLocation;
  if (location !== 'FIRST_ROW' && location !== 'GIVEN') {
    problems.push(`ItemReader CSVHeaderLocation ${location ?? '(none)'}`);
  }
  if (location === 'GIVEN' && !Array.isArray(config.CSVHeaders)) {
    problems.push('ItemReader CSVHeaderLocation GIVEN without CSVHeaders');
  }
  if (config.CSVDelimiter !== undefined && !(config.CSVDelimiter in CSV_DELIMITERS)) {
    problems.push(`ItemReader CSVDelimiter ${config.CSVDelimiter}`);
  }
  return problems;
}

/**
 * Splits delimited text into records of fields as Step Functions documents it
 * (https://docs.aws.amazon.com/step-functions/latest/dg/example-csv-parse-dist-map.html):
 * newlines (LF or CRLF) separate records; a field in double quotes may hold the delimiter
 * and newlines; `""` is one quote, inside quotes or within an unquoted field; a backslash makes the next backslash,
 * double quote or delimiter literal and is dropped before any other character. A final
 * newline ends the last record rather than starting an empty one.
 */
export function parseDelimited(text: string, delimiter = ','): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    record.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      // The escaped character is kept; before any other character the backslash just vanishes.
      field += text[i + 1];
      i += 2;
      continue;
    }
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field !== '' && text[i + 1] === '"') {
      // Inside an unquoted field a doubled quote is one quote too (the page's `{""MyKey"":…}`).
      field += '"';
      i += 2;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === delimiter) endField();
    else if (c === '\n') endRecord();
    else if (c === '\r' && text[i + 1] === '\n') {
      endRecord();
      i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('a quoted field is not closed before the end of the file');
  if (field !== '' || record.length > 0) endRecord();
  return records;
}

/**
 * CSV rows as items: one object per row, keyed by the header (the first row, or the given
 * `CSVHeaders`), every value a string; a short row gets empty strings, the fields past the
 * header are skipped. Duplicate header names cannot make an object: that is an error.
 */
export function csvItems(body: string, config: ReaderConfig): Record<string, string>[] {
  const delimiter = CSV_DELIMITERS[config.CSVDelimiter ?? 'COMMA'];
  if (delimiter === undefined) throw new Error(`unknown CSVDelimiter ${config.CSVDelimiter}`);
  const rows = parseDelimited(body, delimiter);
  let headers: string[];
  if (config.CSVHeaderLocation === 'GIVEN') {
    headers = config.CSVHeaders ?? [];
  } else {
    const first = rows.shift();
    if (!first) throw new Error('the CSV file is empty: FIRST_ROW needs a header row');
    headers = first;
  }
  const seen = new Set<string>();
  for (const h of headers) {
    if (seen.has(h))
      throw new Error(`CSV headers cannot contain duplicates (${JSON.stringify(h)})`);
    seen.add(h);
  }
  return rows.map((row) => Object.fromEntries(headers.map((h, i) => [h, row[i] ?? ''])));
}

/** One object of a listing as the Map's item, in the shape the ItemReader page shows. */
export interface ListedObject {
  Etag: string;
  Key: string;
  /** Epoch seconds. */
  LastModified: number;
  Size: number;
  StorageClass: string;
}

export function listedObjectItem(o: {
  ETag?: string;
  Key?: string;
  LastModified?: Date;
  Size?: number;
  StorageClass?: string;
}): ListedObject {
  return {
    Etag: o.ETag ?? '',
    Key: o.Key ?? '',
    LastModified: Math.floor((o.LastModified?.getTime() ?? 0) / 1000),
    Size: o.Size ?? 0,
    StorageClass: o.StorageClass ?? 'STANDARD',
  };
}

/** What the reader reads, for error messages: `s3://bucket/key` or `s3://bucket/prefix*`. */
export function describeSource(resource: string, params: Record<string, unknown>): string {
  return resource === LIST_OBJECTS_READER
    ? `s3://${params.Bucket}/${params.Prefix ?? ''}*`
    : `s3://${params.Bucket}/${params.Key}`;
}

/**
 * Reads every item of the source (a listing is followed through all its pages; MaxItems
 * is applied by the caller). Throws with the reason; the caller turns that into
 * `States.ItemReaderFailed`.
 */
export async function readItems(
  s3: S3Client,
  reader: { Resource: string; ReaderConfig?: ReaderConfig },
  params: Record<string, unknown>
): Promise<unknown[]> {
  const where = describeSource(reader.Resource, params);
  if (reader.Resource === LIST_OBJECTS_READER) {
    const items: ListedObject[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: params.Bucket as string,
          Prefix: params.Prefix as string | undefined,
          ContinuationToken: token,
        })
      );
      for (const o of page.Contents ?? []) items.push(listedObjectItem(o));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return items;
  }
  const res = await s3.send(
    new GetObjectCommand({
      Bucket: params.Bucket as string,
      Key: params.Key as string,
      VersionId: params.VersionId as string | undefined,
    })
  );
  const body = (await res.Body?.transformToString('utf8')) ?? '';
  const config = reader.ReaderConfig ?? {};
  if (config.InputType === 'CSV') return csvItems(body, config);
  return parseItems(body, config.InputType ?? 'JSON', where);
}
