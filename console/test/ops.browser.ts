/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { ROOT } from '../../local-runtime/src/index.js';
import { poll } from '../../test/helpers/poll.js';
import { type RunningConsole, startConsole } from '../src/start.js';
import { BROWSER, DESKTOP, launchBrowser, PHONE, pollPage } from './browser.js';

/**
 * The console's operator view in Chromium, against the local runtime the global
 * setup started: the verdict at the top of a video, a redrive from the page shown
 * as its own run, every DLQ with a peek and a redrive, loading states, a load with
 * no failed request, and a phone that opens a video at its header. Screenshots go
 * to test-artifacts/ (git-ignored).
 */

const ARTIFACTS = join(ROOT, 'test-artifacts');

/** Failed requests and console errors a page logs (a clean load has neither). */
const watchProblems = (page: Page): string[] => {
  const problems: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return problems;
};

/** Also into CONSOLE_SHOTS_DIR when set (outside the repo: the screenshots a closing note shows). */
const SHOTS = process.env.CONSOLE_SHOTS_DIR;

const shot = async (page: Page, name: string, fullPage = true) => {
  const png = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, `${name}.png`), png);
  }
};

/** Only with CONSOLE_SHOTS_DIR: the screen as a 1280x800 user sees it, scrolled to `selector`. */
const shotView = async (page: Page, name: string, selector?: string) => {
  if (!SHOTS) return;
  await page.evaluate(
    (sel) =>
      sel ? document.querySelector(sel)?.scrollIntoView({ block: 'start' }) : window.scrollTo(0, 0),
    selector
  );
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
};

describe.skipIf('skipReason' in BROWSER)('console operator view (local runtime)', () => {
  let browser: Browser;
  let consoleApp: RunningConsole;
  let outputs: Record<string, string>;
  let sqs: SQSClient;
  /** The PARTIAL video the first case uploads; later cases open it. */
  let partialId: string | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = inject('consoleOutputsFile');
    consoleApp = await startConsole({ outputs: file, port: 0 });
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
    outputs = doc[consoleApp.outputs.stackName] ?? {};
    sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: consoleApp.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await consoleApp?.close();
    sqs?.destroy();
    cleanupMedia();
  });

  it('heads a PARTIAL video with its verdict, redrives it from the page and shows the redrive as its own run', async () => {
    // Prepare: an extra thumbnail past the end fails one branch: a PARTIAL video whose
    // execution SUCCEEDED.
    const clip = await makeClip({ seconds: 3, width: 320, height: 180 });
    const named = join(ARTIFACTS, 'ops partial.mp4');
    copyFileSync(clip, named);
    const page = await browser.newPage({ viewport: DESKTOP });
    const problems = watchProblems(page);
    await page.goto(consoleApp.url);
    await page.fill('#times', '1,99');
    await page.setInputFiles('#file', named);
    const id = decodeURIComponent(
      (await pollPage(
        page,
        () => /^#\/video\/(.+)$/.exec(location.hash)?.[1],
        60_000,
        'the page to open the uploaded video'
      )) ?? ''
    );
    partialId = id;

    // Act
    const verdict = await pollPage(
      page,
      () => {
        const v = document.getElementById('verdict-status')?.textContent;
        return v && v !== 'RUNNING' ? v : undefined;
      },
      180_000,
      'a verdict'
    );

    // Assess: the verdict, not the execution's SUCCEEDED, heads the page, above the fold,
    // coloured as PARTIAL (the amber the list uses), with the manifest's reason.
    expect(verdict).toBe('PARTIAL');
    expect(await page.textContent('#execution-status')).toBe('SUCCEEDED');
    const manifest = await page.evaluate(
      async (v) =>
        (
          (await (await fetch(`/api/videos/${encodeURIComponent(v)}`)).json()) as {
            manifest: { reason: string | null };
          }
        ).manifest,
      id
    );
    expect(manifest.reason).toBeTruthy();
    expect(await page.textContent('#verdict')).toContain(manifest.reason ?? '');
    const box = await page.locator('#verdict').boundingBox();
    expect(box).not.toBeNull();
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(DESKTOP.height);
    // The amber of the PARTIAL status (app.css), not the green of SUCCEEDED.
    const colour = await page.evaluate(
      () => getComputedStyle(document.getElementById('verdict-status') as HTMLElement).color
    );
    expect(colour).toBe('rgb(255, 192, 105)');
    await page.evaluate(
      () => document.activeElement instanceof HTMLElement && document.activeElement.blur()
    );
    await shot(page, 'ops-partial-header-1280', false);

    // Act: Redrive, confirmed in the dialog.
    const question = new Promise<string>((resolve) =>
      page.once('dialog', (d) => {
        resolve(d.message());
        void d.accept();
      })
    );
    await page.click('#redrive');
    expect(await question).toContain(`Redrive ${id}?`);

    // Assess: the redrive is its own run, after the original, and ends.
    const redriveName = `${id}-redrive-1`;
    await pollPage(
      page,
      (name) => {
        const run = document.querySelector(`#timeline .run[data-run="${name}"]`);
        const s = run?.getAttribute('data-run-status');
        return s && s !== 'RUNNING' ? s : undefined;
      },
      180_000,
      'the redrive run to end',
      redriveName
    );
    const runs = await page.$$eval('#timeline .run', (els) =>
      els.map((e) => ({
        name: e.getAttribute('data-run'),
        status: e.getAttribute('data-run-status'),
        bars: [...e.querySelectorAll('[data-bar]')].map((b) => [
          b.getAttribute('data-bar'),
          b.getAttribute('data-status'),
        ]),
      }))
    );
    expect(runs.map((r) => r.name)).toEqual([id, redriveName]);
    expect(runs[0]?.bars).toContainEqual(['thumb-at-99s', 'failed']);
    // The redrive ran the failed branch again (it fails again: the clip has no 99th second).
    expect(runs[1]?.bars.map((b) => b[0])).toContain('thumb-at-99s');
    await pollPage(
      page,
      () => /redrive 1 \(was PARTIAL\)/.test(document.getElementById('verdict')?.textContent ?? ''),
      60_000,
      'the redriven manifest in the verdict'
    );
    expect(await page.textContent('#action-status')).toContain(`new execution ${redriveName}`);
    await page.evaluate(
      () => document.activeElement instanceof HTMLElement && document.activeElement.blur()
    );
    await shot(page, 'ops-redriven-timeline-1280');
    await shotView(page, 'redriven-timeline-1280x800');
    await page.setViewportSize(PHONE);
    expect(
      await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth
      )
    ).toBe(0);
    await shot(page, 'ops-redriven-timeline-phone');
    // The only failed requests: the new video's detail before the pipeline started its run
    // (each also logged once by Chromium as "Failed to load resource").
    const early404 = `404 ${consoleApp.url}/api/videos/${encodeURIComponent(id)}`;
    const responses = problems.filter((p) => !p.startsWith('console: '));
    const logged = problems.filter((p) => p.startsWith('console: '));
    expect(responses.filter((p) => p !== early404)).toEqual([]);
    expect(logged.filter((p) => !p.includes('status of 404'))).toEqual([]);
    expect(logged).toHaveLength(responses.length);
    await page.close();
  });

  it('lists every DLQ with its depth, peeks at a message without taking it, and redrives it', async () => {
    // Prepare: the stack's DLQs, from the outputs file; one message in the Alerts DLQ
    // (nothing consumes the Alerts queue, so the redriven message stays where it lands).
    const dlqs = Object.keys(outputs)
      .filter((k) => k.endsWith('DeadLetterQueueUrl'))
      .map((k) => k.replace(/Url$/, ''));
    expect(dlqs).toEqual(
      expect.arrayContaining([
        'StartWorkflowDeadLetterQueue',
        'UploadAuditDeadLetterQueue',
        'AlertsDeadLetterQueue',
        'VerdictDeadLetterQueue',
        'VideoUploadedDeliveryDeadLetterQueue',
        'VideoProcessedDeliveryDeadLetterQueue',
      ])
    );
    const dlqUrl = outputs.AlertsDeadLetterQueueUrl ?? '';
    const alertsUrl = outputs.AlertsQueueUrl ?? '';
    const marker = `console-peek-${randomUUID()}`;
    await sqs.send(
      new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify({ marker }) })
    );
    /** Visible and in flight: a peeked message may count as either until SQS turns it around. */
    const depth = async (url: string) => {
      const a =
        (
          await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
              ],
            })
          )
        ).Attributes ?? {};
      return (
        Number(a.ApproximateNumberOfMessages ?? 0) +
        Number(a.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    };
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(consoleApp.url);

    // Act: the panel shows the message waiting.
    const shown = await pollPage(
      page,
      () => {
        const rows = [...document.querySelectorAll('#queues tbody tr[data-queue]')];
        return rows.length > 0
          ? rows.map((tr) => [
              tr.getAttribute('data-queue'),
              tr.querySelector('td:nth-child(2)')?.textContent,
            ])
          : undefined;
      },
      15_000,
      'the queue rows'
    );
    const waiting = (what: string) =>
      pollPage(
        page,
        () =>
          document.querySelector('#queues tr[data-queue="AlertsDeadLetterQueue"] td:nth-child(2)')
            ?.textContent === '1',
        15_000,
        what
      );
    await waiting('the Alerts DLQ to show one message');
    expect((shown ?? []).map((r) => r[0])).toEqual(expect.arrayContaining(dlqs));

    // Act: redrive, confirmed.
    page.once('dialog', (d) => void d.accept());
    await page.click('[data-redrive-queue="AlertsDeadLetterQueue"]');
    const status = await pollPage(
      page,
      () => {
        const t = document.getElementById('queue-status')?.textContent ?? '';
        return /moved|failed/.test(t) ? t : undefined;
      },
      90_000,
      'the redrive to end'
    );

    // Assess: the CLI's move task took it back to the Alerts queue.
    expect(status).toContain('AlertsDeadLetterQueue: moved 1 message(s) (COMPLETED)');
    expect(await depth(dlqUrl)).toBe(0);
    const takeFrom = (url: string, mark: string) =>
      poll(
        `the message ${mark}`,
        async () => {
          const res = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: 30,
            })
          );
          const mine = res.Messages?.find((m) => m.Body?.includes(mark));
          if (mine) {
            await sqs.send(
              new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: mine.ReceiptHandle })
            );
          }
          return mine;
        },
        15_000,
        { intervalMs: 250 }
      );
    expect((await takeFrom(alertsUrl, marker)).Body).toContain(marker);

    // Prepare: a second message, to peek at.
    const peekMarker = `console-peek-${randomUUID()}`;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: JSON.stringify({ marker: peekMarker }),
        MessageAttributes: { status: { DataType: 'String', StringValue: 'FAILED' } },
      })
    );
    await waiting('the Alerts DLQ to show the second message');

    // Act
    await page.click('[data-peek="AlertsDeadLetterQueue"]');
    const peeked = await pollPage(
      page,
      () => document.querySelector('#dlq-peek pre')?.textContent,
      15_000,
      'the peeked message'
    );

    // Assess: the peek shows the body and its attribute, and leaves the message in the queue.
    expect(peeked).toContain(peekMarker);
    expect(await page.textContent('#dlq-peek')).toContain('status=FAILED');
    expect(await depth(dlqUrl)).toBe(1);
    // Visible again at once: a second peek receives it again.
    await page.evaluate(() => document.getElementById('dlq-peek')?.replaceChildren());
    await page.click('[data-peek="AlertsDeadLetterQueue"]');
    const again = await pollPage(
      page,
      () => document.querySelector('#dlq-peek pre')?.textContent,
      15_000,
      'the message peeked again'
    );
    expect(again).toContain(peekMarker);
    // The keeper's DLQ has no source queue: its Redrive button is off, with the reason.
    expect(
      await page.getAttribute(
        '#queues tr[data-queue="VerdictDeadLetterQueue"] button:not([data-peek])',
        'disabled'
      )
    ).not.toBeNull();
    await page.evaluate(
      () => document.activeElement instanceof HTMLElement && document.activeElement.blur()
    );
    await shot(page, 'ops-dlq-peek-1280');
    await shotView(page, 'dlq-peek-1280x800', '#queues-h');
    await page.setViewportSize(PHONE);
    expect(
      await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth
      )
    ).toBe(0);
    await shot(page, 'ops-dlq-peek-phone');

    // Cleanup
    await takeFrom(dlqUrl, peekMarker);
    await page.close();
  });

  it('shows loading states on a deep link, loads without a failed request, and opens a video at its header on a phone', async () => {
    // Prepare: hold the API answers so the first paint is the one a slow target gives.
    expect(partialId).toBeDefined();
    const id = partialId ?? '';
    const page = await browser.newPage({ viewport: DESKTOP });
    const problems = watchProblems(page);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await page.route(/\/api\/(videos|queues)/, async (route) => {
      await gate;
      await route.continue();
    });

    // Act
    await page.goto(`${consoleApp.url}/#/video/${encodeURIComponent(id)}`);

    // Assess: loading, not empty tables.
    const loading = await page.evaluate(() => ({
      detail: document.querySelector('#detail .loading')?.textContent,
      videos: document.querySelector('#videos tbody tr.loading')?.textContent,
      queues: document.querySelector('#queues tbody tr.loading')?.textContent,
    }));
    expect(loading).toEqual({
      detail: 'Loading this video…',
      videos: 'Loading videos…',
      queues: 'Loading queues…',
    });
    release();
    await pollPage(page, () => document.getElementById('detail-h'), 15_000, 'the video');
    await pollPage(
      page,
      () => document.querySelector('#queues tbody tr[data-queue]'),
      15_000,
      'the queues'
    );
    expect(problems).toEqual([]);

    // Act: the execution graph of the latest run (the redrive), and one state in it.
    await page.click('#graph-details summary');
    await pollPage(
      page,
      () => document.querySelector('#graph [data-state="Probe"]'),
      15_000,
      'the execution graph'
    );
    await page.click('#graph [data-state="Probe"]');

    // Assess: the definition's states, coloured by this run's history, with the state's input.
    const states = await page.$$eval('#graph [data-state]', (els) =>
      Object.fromEntries(
        els.map((e) => [e.getAttribute('data-state'), e.getAttribute('data-state-status')])
      )
    );
    expect(states.Probe).toBe('succeeded');
    expect(states.Aggregate).toBe('succeeded');
    expect(Object.keys(states)).toEqual(expect.arrayContaining(['Plan', 'FanOut']));
    expect(await page.textContent('#state-input')).toContain(id);
    await shot(page, 'ops-graph-1280');
    await shotView(page, 'partial-graph-1280x800', '#graph-details');
    await page.close();

    // Prepare: a phone, the list above the video.
    const phone = await browser.newPage({ viewport: PHONE, hasTouch: true, isMobile: true });
    await phone.goto(consoleApp.url);
    const link = phone.locator(`#videos a[href="#/video/${encodeURIComponent(id)}"]`);
    await link.waitFor({ timeout: 15_000 });

    // Act
    await link.tap();

    // Assess: the video's heading is at the top of the screen, not at its bottom edge.
    await pollPage(phone, () => document.getElementById('detail-h'), 15_000, 'the video');
    const top = await pollPage(
      phone,
      () => {
        const r = document.getElementById('detail-h')?.getBoundingClientRect();
        return r && r.top >= 0 && r.top < 80 ? r.top : undefined;
      },
      5_000,
      'the heading at the top of the screen'
    );
    expect(top).toBeLessThan(80);
    await shot(phone, 'ops-phone-open-video', false);
    await phone.close();
  });
});
