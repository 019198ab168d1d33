import Hls, { type ErrorData } from 'hls.js';
import type { MetricsPage, QueueDepth, VideoDetail, VideoList, VideoRow } from '../src/data.js';
import type { Graph, GraphState, StateRun } from '../src/graph.js';
import type { TimelineBar } from '../src/timeline.js';

/**
 * The console page: plain DOM, polling the console server's JSON API. The
 * server makes every AWS call; this file only draws what it returns.
 */

const POLL_MS = 1500;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

/** `h('td', {class: 'num'}, '3')`: small element factory, text only (never innerHTML). */
const h = (
  tag: string,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElement => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
};

class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/**
 * The console server's per-process token, which it writes into this page; every
 * request that changes something sends it back (console/src/security.ts).
 */
const token = (): string =>
  document.querySelector<HTMLMetaElement>('meta[name="console-token"]')?.content ?? '';

const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError('the console server does not answer: is `npm run console` running?', 0);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(body.error ?? `${res.status} ${res.statusText}`, res.status);
  return body as T;
};

// ---- banner: one place for errors about the target -------------------------

const banner = (message: string | undefined) => {
  const el = $('banner');
  el.hidden = !message;
  el.textContent = message ?? '';
};

export const formatMs = (ms: number | undefined): string => {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
};

const selectedId = (): string | undefined => {
  const m = /^#\/video\/(.+)$/.exec(location.hash);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
};

const videoLink = (id: string) => `#/video/${encodeURIComponent(id)}`;

/** `#/metrics`: the per-kind metrics view in the detail panel. */
const METRICS_HASH = '#/metrics';
const showsMetrics = () => location.hash === METRICS_HASH;

// ---- list and queues ---------------------------------------------------------

/** What a video without a manifest shows for its tenant and cost. */
const NONE = '—';

/** The tenant filter lives in the URL's query (`?tenant=acme`), so a filtered list deep-links. */
const tenantFilter = (): string => new URLSearchParams(location.search).get('tenant') ?? '';

const setTenantFilter = (tenant: string) => {
  const url = new URL(location.href);
  if (tenant) url.searchParams.set('tenant', tenant);
  else url.searchParams.delete('tenant');
  history.replaceState(null, '', url);
};

/** The filter's choices: every tenant the list saw, and the one asked for even when it has none. */
const renderTenantFilter = (list: VideoList) => {
  const select = $('tenant-filter') as HTMLSelectElement;
  const wanted = tenantFilter();
  const tenants = [...new Set([...list.tenants, ...(wanted ? [wanted] : [])])].sort();
  const shown = [...select.options].map((o) => o.value);
  const next = ['', ...tenants];
  if (shown.join('\n') !== next.join('\n')) {
    select.replaceChildren(
      ...next.map((t) => h('option', { value: t }, t === '' ? 'all tenants' : t))
    );
  }
  select.value = wanted;
};

const renderVideos = (list: VideoList) => {
  const rows: VideoRow[] = list.videos;
  const tbody = $('videos').querySelector('tbody') as HTMLTableSectionElement;
  const current = selectedId();
  tbody.replaceChildren(
    ...rows.map((r) =>
      h(
        'tr',
        {
          'data-video': r.videoId,
          ...(r.videoId === current ? { class: 'selected', 'aria-current': 'true' } : {}),
        },
        h('td', {}, h('a', { href: videoLink(r.videoId) }, r.videoId)),
        h('td', { class: 'tenant', 'data-col': 'tenant' }, r.tenant ?? NONE),
        h('td', { class: `status-${r.status}` }, r.status),
        h('td', { class: 'num' }, r.branches),
        h('td', { class: 'num', 'data-col': 'cost' }, r.cost ?? NONE),
        h('td', { class: 'num' }, formatMs(r.durationMs))
      )
    )
  );
  const empty = $('videos-empty');
  empty.hidden = rows.length > 0;
  empty.textContent = list.tenant
    ? `No videos of tenant ${list.tenant} among the recent ones.`
    : 'No videos yet: upload one.';
  renderTenantFilter(list);
};

/** A button for an operator action: it asks first, and says what happened in `statusEl`. */
const actionButton = (
  label: string,
  attrs: Record<string, string>,
  question: string,
  run: () => Promise<void>
): HTMLElement => {
  const b = h('button', { type: 'button', class: 'action', ...attrs }, label);
  b.addEventListener('click', () => {
    if (!window.confirm(question)) return;
    (b as HTMLButtonElement).disabled = true;
    void run().finally(() => {
      (b as HTMLButtonElement).disabled = false;
    });
  });
  return b;
};

const post = <T>(path: string) =>
  api<T>(path, { method: 'POST', headers: { 'X-Console-Token': token() } });

interface Peeked {
  queue: string;
  messages: {
    messageId: string;
    sentAt?: string;
    receiveCount: number;
    body: string;
    truncated: boolean;
    attributes: Record<string, string>;
  }[];
}

/** One line for the outcome; the CLI's own lines (task handles and all) folded under it. */
const queueStatus = (text: string, isError = false, log: readonly string[] = []) => {
  const el = $('queue-status');
  el.className = isError ? 'error-text' : 'muted';
  el.replaceChildren(
    text,
    ...(log.length > 0
      ? [
          h(
            'details',
            { class: 'cli-log' },
            h('summary', {}, 'what the CLI printed'),
            h('pre', {}, log.join('\n'))
          ),
        ]
      : [])
  );
};

const peek = async (name: string) => {
  const panel = $('dlq-peek');
  panel.hidden = false;
  panel.replaceChildren(h('p', { class: 'muted' }, `Peeking at ${name}…`));
  try {
    const res = await post<Peeked>(`/api/queues/${encodeURIComponent(name)}/peek`);
    panel.replaceChildren(
      h('h3', {}, `${res.queue}: ${res.messages.length} message(s) peeked`),
      h(
        'p',
        { class: 'muted' },
        'A peek receives with VisibilityTimeout 0: the messages stay in the queue, visible again at once.'
      ),
      ...(res.messages.length === 0 ? [h('p', { class: 'muted' }, 'The queue is empty.')] : []),
      ...res.messages.map((m) =>
        h(
          'details',
          { class: 'peeked', open: '' },
          h(
            'summary',
            {},
            `${m.messageId} · received ${m.receiveCount}×${m.sentAt ? ` · sent ${m.sentAt}` : ''}`
          ),
          ...(Object.keys(m.attributes).length > 0
            ? [
                h(
                  'p',
                  { class: 'muted' },
                  Object.entries(m.attributes)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' · ')
                ),
              ]
            : []),
          h('pre', {}, m.body + (m.truncated ? '\n… (cut at 4 KiB)' : ''))
        )
      )
    );
  } catch (err) {
    panel.replaceChildren(h('p', { class: 'error-text', role: 'alert' }, (err as Error).message));
  }
};

const redriveQueue = async (name: string) => {
  queueStatus(`Redriving ${name}…`);
  try {
    const res = await post<{ moved: number; status: string; log: string[] }>(
      `/api/queues/${encodeURIComponent(name)}/redrive`
    );
    queueStatus(`${name}: moved ${res.moved} message(s) (${res.status}).`, false, res.log);
    void refreshOverview();
  } catch (err) {
    queueStatus(`${name}: redrive failed: ${(err as Error).message}`, true);
  }
};

const renderQueues = (queues: QueueDepth[]) => {
  const tbody = $('queues').querySelector('tbody') as HTMLTableSectionElement;
  // Dead-letter queues first: they are what an operator acts on.
  const sorted = [...queues].sort(
    (a, b) => Number(b.deadLetter) - Number(a.deadLetter) || a.name.localeCompare(b.name)
  );
  tbody.replaceChildren(
    ...sorted.map((q) =>
      h(
        'tr',
        { 'data-queue': q.name },
        h(
          'td',
          { class: 'qname', title: q.name },
          q.deadLetter ? `${q.name.replace(/DeadLetterQueue$/, '')} DLQ` : q.name
        ),
        h(
          'td',
          { class: `num${q.deadLetter && q.visible > 0 ? ' dlq-full' : ''}` },
          String(q.visible)
        ),
        h('td', { class: 'num' }, String(q.inFlight)),
        h(
          'td',
          { class: 'actions' },
          ...(q.deadLetter
            ? [
                (() => {
                  const b = h(
                    'button',
                    { type: 'button', class: 'action', 'data-peek': q.name },
                    'Peek'
                  );
                  b.addEventListener('click', () => void peek(q.name));
                  return b;
                })(),
                q.redrivable
                  ? actionButton(
                      'Redrive',
                      { 'data-redrive-queue': q.name },
                      `Move every message in ${q.name} back to its source queue (StartMessageMoveTask)?`,
                      () => redriveQueue(q.name)
                    )
                  : h(
                      'button',
                      {
                        type: 'button',
                        class: 'action',
                        disabled: '',
                        title:
                          'No source queue names this DLQ in its RedrivePolicy: peek, then resend by hand',
                      },
                      'Redrive'
                    ),
              ]
            : [])
        )
      )
    )
  );
};

const refreshOverview = async () => {
  try {
    const tenant = tenantFilter();
    const [videos, queues] = await Promise.all([
      api<VideoList>(`/api/videos${tenant ? `?${new URLSearchParams({ tenant })}` : ''}`),
      api<{ queues: QueueDepth[] }>('/api/queues'),
    ]);
    // The filter may have changed while this was in flight: the next refresh draws it.
    if (tenant === tenantFilter()) renderVideos(videos);
    renderQueues(queues.queues);
    banner(undefined);
  } catch (err) {
    banner((err as Error).message);
  }
  if (showsMetrics()) void refreshMetrics();
};

// ---- metrics ---------------------------------------------------------------------

const metricsTable = (id: string, t: MetricsPage['byKindAndTenant']): HTMLElement =>
  h(
    'table',
    { id, class: 'metrics' },
    h(
      'thead',
      {},
      h('tr', {}, ...t.head.map((c, i) => h('th', i >= t.names ? { class: 'num' } : {}, c)))
    ),
    h(
      'tbody',
      {},
      ...t.rows.map((r) =>
        h('tr', {}, ...r.map((c, i) => h('td', i >= t.names ? { class: 'num' } : {}, c)))
      )
    )
  );

/** The figures `npm run metrics` prints, from the same code (the server calls the CLI's). */
const renderMetrics = (m: MetricsPage) => {
  $('detail').replaceChildren(
    h('h2', { id: 'metrics-h' }, 'Metrics per kind'),
    h(
      'p',
      { class: 'muted' },
      'What ',
      h('code', {}, 'npm run metrics'),
      " prints: the EMF records the local runtime keeps (on AWS, the stack's dashboard)."
    ),
    h('p', { id: 'metrics-videos' }, `Videos: ${m.videos} (latest verdict of each video)`),
    h('p', { class: 'muted' }, `Verdicts written: ${m.verdictsWritten} (redrives included)`),
    h('h3', {}, 'Branches per kind and tenant'),
    m.byKindAndTenant.rows.length === 0
      ? h('p', { class: 'muted' }, 'No branch metrics yet.')
      : h('div', { class: 'table-scroll' }, metricsTable('metrics-kinds', m.byKindAndTenant)),
    h('h3', {}, 'Per tenant: upload → manifest latency, uploads held back by backpressure'),
    m.byTenant.rows.length === 0
      ? h('p', { class: 'muted' }, 'No tenant metrics yet.')
      : h('div', { class: 'table-scroll' }, metricsTable('metrics-tenants', m.byTenant)),
    h(
      'p',
      { class: 'muted' },
      `${m.records} EMF records` +
        (m.dropped > 0 ? ` · the runtime evicted ${m.dropped} older records` : '')
    )
  );
};

const refreshMetrics = async () => {
  try {
    const m = await api<MetricsPage>('/api/metrics');
    if (showsMetrics()) renderMetrics(m);
  } catch (err) {
    if (!showsMetrics()) return;
    $('detail').replaceChildren(
      h('h2', { id: 'metrics-h' }, 'Metrics per kind'),
      h('p', { class: 'error-text', role: 'alert', id: 'metrics-error' }, (err as Error).message)
    );
  }
};

// ---- one video -----------------------------------------------------------------

const artifactUrl = (key: string) => `/api/artifact?key=${encodeURIComponent(key)}`;

const renderGantt = (d: VideoDetail, t: VideoDetail['timeline']): HTMLElement => {
  const t0 = Date.parse(t.start ?? d.now);
  const tEnd = Date.parse(t.end ?? d.now);
  const span = Math.max(1, tEnd - t0);
  const row = (b: TimelineBar) => {
    const start = b.start ? Date.parse(b.start) : undefined;
    const end = b.end ? Date.parse(b.end) : b.start ? tEnd : undefined;
    const lane = h('div', { class: 'lane' });
    const duration = start !== undefined && end !== undefined ? end - start : undefined;
    if (start !== undefined && end !== undefined) {
      const left = ((start - t0) / span) * 100;
      const width = ((end - start) / span) * 100;
      lane.append(
        h('div', {
          class: `bar s-${b.status}`,
          style: `left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`,
        })
      );
    }
    const label = `${b.label}${b.kind ? ` (${b.kind})` : ''}`;
    return [
      h('div', { class: 'name' }, label),
      h(
        'div',
        {
          ...{ class: 'lane-wrap' },
          role: 'img',
          'aria-label': `${label}: ${b.status}${duration !== undefined ? `, ${formatMs(duration)}` : ''}${b.error ? `, ${b.error}` : ''}`,
          'data-status': b.status,
          'data-bar': b.label,
        },
        lane
      ),
      h(
        'div',
        { class: `time s-${b.status}` },
        duration === undefined ? b.status : formatMs(duration)
      ),
    ];
  };
  return h('div', { class: 'gantt' }, ...t.bars.flatMap(row));
};

/**
 * Under the Segments bar: the Map Run's items (every video segment of every rendition, and
 * the audio parts when the source has sound) and each long rendition's segments, so a long
 * video shows progress while its segments encode.
 */
const renderSegments = (p: NonNullable<VideoDetail['runs'][number]['segments']>): HTMLElement =>
  h(
    'div',
    { class: 'segments', 'data-segments': p.status },
    h(
      'p',
      { class: 'muted' },
      `Segments map run ${p.status}: ${p.items.succeeded}/${p.items.total} items encoded` +
        (p.items.running ? `, ${p.items.running} running` : '') +
        (p.items.failed ? `, ${p.items.failed} failed` : '')
    ),
    ...(p.audio
      ? [
          h(
            'p',
            { class: 'muted', 'data-audio': p.audio },
            p.audioParts
              ? `audio ${p.audioParts.done}/${p.audioParts.total} parts · ${p.audio}`
              : `audio: ${p.audio}`
          ),
        ]
      : []),
    ...p.renditions.map((r) =>
      h(
        'div',
        { class: 'segment-progress', 'data-rendition': r.id, 'data-join': r.join },
        h('span', { class: 'name' }, r.id),
        h('progress', { max: String(r.total), value: String(r.written) }),
        h('span', { class: 'time' }, `${r.written}/${r.total}`),
        h(
          'span',
          { class: 'muted' },
          [
            ...(p.childExecutions === 'listed'
              ? [
                  r.running ? `${r.running} running` : '',
                  r.queued ? `${r.queued} queued` : '',
                  r.failed ? `${r.failed} failed` : '',
                ]
              : []),
            `join ${r.join}`,
          ]
            .filter(Boolean)
            .join(' · ')
        )
      )
    )
  );

/** One block per run: the original execution, then each `-redrive-<n>` attempt. */
const renderTimeline = (d: VideoDetail): HTMLElement => {
  const runs =
    d.runs.length > 0
      ? d.runs
      : [{ name: d.videoId, status: d.execution.status, timeline: d.timeline }];
  return h(
    'div',
    { id: 'timeline' },
    ...runs.map((r, i) =>
      h(
        'section',
        { class: 'run', 'data-run': r.name, 'data-run-status': r.status },
        ...(runs.length > 1
          ? [
              h(
                'h4',
                {},
                i === 0 ? 'Original run ' : `Redrive ${i} `,
                h('code', {}, r.name),
                ' · ',
                h('span', { class: `status-${r.status}` }, r.status),
                'error' in r && r.error ? ` · ${r.error}` : ''
              ),
            ]
          : []),
        renderGantt(d, r.timeline),
        ...('segments' in r && r.segments ? [renderSegments(r.segments)] : [])
      )
    )
  );
};

// ---- the HLS player ---------------------------------------------------------------

/** console/src/server.ts HLS_ROUTE: `/api/hls/<videoId>/<file under the video's hls/>`. */
const HLS_ROUTE = '/api/hls/';

/**
 * The console URL of one of the video's HLS files, or undefined for a key outside
 * its `hls/` folder (the route serves nothing else). The playlists' relative URIs
 * then resolve to the same route, so every segment is fetched through the console.
 */
const hlsUrl = (videoId: string, key: string): string | undefined => {
  const folder = `outputs/${videoId}/hls/`;
  if (!key.startsWith(folder)) return undefined;
  const rest = key.slice(folder.length).split('/').map(encodeURIComponent).join('/');
  return `${HLS_ROUTE}${encodeURIComponent(videoId)}/${rest}`;
};

/** The one player on the page: destroyed before another is made, or when the page leaves the video. */
let player: Hls | undefined;

const stopPlayer = () => {
  player?.destroy();
  player = undefined;
};

const kbps = (bitsPerSecond: number) => `${Math.round(bitsPerSecond / 1000).toLocaleString()} kb/s`;

/**
 * The video's HLS ladder in a `<video>`: hls.js (bundled into app.js) over Media
 * Source Extensions, or the browser's own HLS where it has one and no MSE
 * (Safari on iPhone). Lists the variants the player read from the multivariant
 * playlist, lets the user pin one, and shows which one plays and any fatal error.
 */
const renderPlayer = (d: VideoDetail): HTMLElement | undefined => {
  const ladder = d.manifest?.hls;
  const src = ladder ? hlsUrl(d.videoId, ladder.multivariantPlaylist) : undefined;
  if (!ladder || !src) return undefined;
  const video = h('video', {
    id: 'hls-video',
    controls: '',
    muted: '',
    playsinline: '',
    preload: 'metadata',
    'aria-label': `HLS ladder of ${d.videoId}`,
  }) as HTMLVideoElement;
  // The attribute only sets the default; the property is what lets play() start without a gesture.
  video.muted = true;
  const quality = h('select', { id: 'hls-quality', 'aria-label': 'Quality' }) as HTMLSelectElement;
  quality.append(h('option', { value: '-1' }, 'auto'));
  const levels = h('ul', { id: 'hls-levels', class: 'levels' });
  const status = h('p', { id: 'player-status', class: 'muted', role: 'status' }, 'Loading…');
  const error = h('p', { id: 'player-error', class: 'error-text', role: 'alert', hidden: '' });
  const section = h(
    'div',
    { class: 'player', id: 'player', 'data-src': src },
    video,
    h(
      'div',
      { class: 'player-side' },
      h(
        'p',
        {},
        'HLS ladder · ',
        h('a', { href: src, target: '_blank' }, 'multivariant playlist'),
        ` · ${ladder.variants.length} variant${ladder.variants.length === 1 ? '' : 's'}` +
          (ladder.audioPlaylist ? ' + audio' : ', no audio')
      ),
      h('label', { class: 'field inline' }, 'Quality ', quality),
      levels,
      status,
      error
    )
  );
  const fail = (message: string) => {
    error.hidden = false;
    error.textContent = message;
    section.dataset.fatal = 'true';
  };
  if (Hls.isSupported()) {
    const hls = new Hls();
    player = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      levels.replaceChildren(
        ...hls.levels.map((l, i) => {
          const resolution = l.attrs.RESOLUTION ?? `${l.width}x${l.height}`;
          const codecs = l.attrs.CODECS ?? l.codecSet;
          quality.append(h('option', { value: String(i) }, `${l.height}p`));
          return h(
            'li',
            {
              'data-level': String(i),
              'data-bandwidth': String(l.bitrate),
              'data-resolution': resolution,
              'data-codecs': codecs,
            },
            `${l.height}p · ${resolution} · ${kbps(l.bitrate)} · ${codecs}`
          );
        })
      );
      status.textContent = 'Ready: press play.';
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, { level }) => {
      const l = hls.levels[level];
      if (!l) return;
      section.dataset.level = String(level);
      for (const li of levels.children) {
        li.classList.toggle('playing', (li as HTMLElement).dataset.level === String(level));
      }
      status.textContent = `Playing ${l.height}p (${kbps(l.bitrate)})${hls.autoLevelEnabled ? ' · auto' : ''}`;
    });
    hls.on(Hls.Events.ERROR, (_event, data: ErrorData) => {
      // Non-fatal errors are hls.js retrying (a slow segment, a switch down): not the user's concern.
      if (data.fatal)
        fail(
          `the player stopped: ${data.type} ${data.details}${data.error ? ` (${data.error.message})` : ''}`
        );
    });
    quality.addEventListener('change', () => {
      // -1: let hls.js choose by measured bandwidth again.
      hls.currentLevel = Number(quality.value);
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    // The browser plays HLS itself and chooses the variant: no list to show.
    video.src = src;
    quality.disabled = true;
    status.textContent = 'Played by the browser itself.';
  } else {
    fail('this browser can play neither HLS nor Media Source Extensions');
  }
  return section;
};

const renderMedia = (d: VideoDetail): HTMLElement | undefined => {
  // The HLS files (playlists, init sections, media segments) are the player's, not pictures of their own.
  const hlsFolder = `outputs/${d.videoId}/hls/`;
  const artifacts = (d.manifest?.branches ?? []).flatMap((b) =>
    b.artifacts.filter((a) => !a.key.startsWith(hlsFolder)).map((a) => ({ ...a, branch: b.id }))
  );
  if (artifacts.length === 0) return undefined;
  const figures = artifacts
    .filter((a) => a.contentType.startsWith('image/') || a.contentType.startsWith('video/'))
    .map((a) => {
      const src = artifactUrl(a.key);
      const media = a.contentType.startsWith('image/')
        ? h('img', { src, alt: `thumbnail ${a.branch}`, loading: 'lazy' })
        : h('video', {
            src,
            controls: '',
            preload: 'metadata',
            'aria-label': `rendition ${a.branch}`,
          });
      return h(
        'figure',
        {},
        media,
        h('figcaption', {}, `${a.branch} · ${(a.bytes / 1024).toFixed(0)} KiB`)
      );
    });
  return h('div', { class: 'media', id: 'media' }, ...figures);
};

const renderManifest = (d: VideoDetail): HTMLElement => {
  const m = d.manifest;
  if (!m) return h('p', { class: 'muted' }, 'No manifest yet: the aggregate writes it at the end.');
  const summary = h(
    'p',
    {},
    'Status: ',
    h('strong', { class: `status-${m.status}`, id: 'manifest-status' }, m.status),
    ` · ${m.counts.succeeded}/${m.counts.total} branches succeeded`,
    m.reason ? ` · ${m.reason}` : ''
  );
  if (m.branches.length === 0)
    return h('div', {}, summary, h('p', { class: 'muted' }, 'No branch ran.'));
  return h(
    'div',
    {},
    summary,
    h(
      'table',
      { id: 'manifest' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Branch'),
          h('th', {}, 'Kind'),
          h('th', {}, 'Status'),
          h('th', { class: 'num' }, 'Time'),
          h('th', {}, 'Error')
        )
      ),
      h(
        'tbody',
        {},
        ...m.branches.map((b) =>
          h(
            'tr',
            {},
            h('td', {}, b.id),
            h('td', {}, b.kind),
            h('td', { class: `status-${b.status}` }, b.status),
            h('td', { class: 'num' }, formatMs(b.durationMs ?? undefined)),
            h('td', { class: 'error-text' }, b.error ? `${b.error.name}: ${b.error.message}` : '')
          )
        )
      )
    )
  );
};

/**
 * The video's verdict, first on its page and coloured by it: the manifest's status
 * (COMPLETE / PARTIAL / FAILED), its reason, and the ending when the verdict keeper
 * wrote it. The execution's own status says less (a PARTIAL run SUCCEEDED).
 */
const renderVerdict = (d: VideoDetail): HTMLElement => {
  const m = d.manifest;
  const running = d.execution.status === 'RUNNING';
  if (!m) {
    return h(
      'p',
      { id: 'verdict', class: 'verdict verdict-pending', role: 'status' },
      h('strong', { id: 'verdict-status' }, running ? 'RUNNING' : 'NO VERDICT'),
      running ? ' · no verdict yet: the aggregate writes the manifest at the end' : ' · no manifest'
    );
  }
  return h(
    'p',
    { id: 'verdict', class: `verdict verdict-${m.status}`, role: 'status' },
    h('strong', { id: 'verdict-status' }, m.status),
    m.reason ? h('span', { id: 'verdict-reason' }, ` · ${m.reason}`) : '',
    m.ending
      ? h('span', { id: 'verdict-ending' }, ` · execution ended ${m.ending} (verdict keeper)`)
      : '',
    m.redrive ? ` · redrive ${m.redrive.attempt} (was ${m.redrive.previousStatus})` : '',
    running ? ' · a new run is in progress' : ''
  );
};

/** What the page last did to a video (kept across re-renders: the detail redraws on each poll). */
const actionMessages = new Map<string, { text: string; error: boolean }>();

const videoAction = async (id: string, action: 'stop' | 'redrive') => {
  actionMessages.set(id, { text: `${action}…`, error: false });
  try {
    const res = await post<{ log?: string[]; stopped?: string; executionArn?: string }>(
      `/api/videos/${encodeURIComponent(id)}/${action}`
    );
    actionMessages.set(id, {
      text: action === 'stop' ? `stopped ${res.stopped}` : (res.log ?? []).join(' '),
      error: false,
    });
  } catch (err) {
    actionMessages.set(id, { text: `${action} failed: ${(err as Error).message}`, error: true });
  }
  drawn = undefined;
  void refreshDetail();
  void refreshOverview();
};

const renderActions = (d: VideoDetail): HTMLElement => {
  const id = d.videoId;
  const running = d.execution.status === 'RUNNING';
  const redrivable =
    !running && (d.manifest?.status === 'PARTIAL' || d.manifest?.status === 'FAILED');
  const msg = actionMessages.get(id);
  return h(
    'div',
    { class: 'video-actions' },
    ...(running
      ? [
          actionButton(
            'Stop',
            { id: 'stop' },
            `Stop the running execution of ${id}? It ends ABORTED and the video gets a FAILED verdict.`,
            () => videoAction(id, 'stop')
          ),
        ]
      : []),
    ...(redrivable
      ? [
          actionButton(
            'Redrive',
            { id: 'redrive' },
            `Redrive ${id}? Its failed branches run again in a new execution (npm run redrive -- video).`,
            () => videoAction(id, 'redrive')
          ),
        ]
      : []),
    h(
      'span',
      { id: 'action-status', role: 'status', class: msg?.error ? 'error-text' : 'muted' },
      msg?.text ?? ''
    )
  );
};

// ---- execution graph ------------------------------------------------------------

interface GraphView {
  execution: string;
  graph: Graph;
  states: Record<string, StateRun>;
}

/** The graph panel lives across the detail's redraws (its open state and the picked state). */
let graphPanel:
  | { id: string; el: HTMLDetailsElement; picked?: string; view?: GraphView }
  | undefined;

const stateBox = (s: GraphState, view: GraphView, pick: (name: string) => void): HTMLElement => {
  const run = view.states[s.name];
  const status = run?.status ?? 'not-run';
  const button = h(
    'button',
    {
      type: 'button',
      class: `state st-${status}`,
      'data-state': s.name,
      'data-state-status': status,
      'aria-label': `${s.name} (${s.type}): ${status}`,
    },
    h('span', { class: 'state-name' }, s.name),
    h(
      'span',
      { class: 'state-type' },
      run && run.entered > 1 ? `${s.type} ×${run.entered}` : s.type
    )
  );
  button.addEventListener('click', () => pick(s.name));
  if (!s.children) return button;
  return h(
    'div',
    { class: 'state-group' },
    button,
    ...s.children.map((g) => renderGraphLayers(g, view, pick))
  );
};

const renderGraphLayers = (g: Graph, view: GraphView, pick: (name: string) => void): HTMLElement =>
  h(
    'div',
    { class: 'graph-layers' },
    ...g.layers.map((layer) =>
      h('div', { class: 'graph-layer' }, ...layer.map((s) => stateBox(s, view, pick)))
    )
  );

const findState = (g: Graph, name: string): GraphState | undefined => {
  for (const layer of g.layers) {
    for (const s of layer) {
      if (s.name === name) return s;
      for (const c of s.children ?? []) {
        const found = findState(c, name);
        if (found) return found;
      }
    }
  }
  return undefined;
};

const renderGraphPanel = () => {
  const panel = graphPanel;
  if (!panel?.view) return;
  const view = panel.view;
  const pick = (name: string) => {
    panel.picked = name;
    renderGraphPanel();
  };
  const picked = panel.picked ? findState(view.graph, panel.picked) : undefined;
  const run = panel.picked ? view.states[panel.picked] : undefined;
  const body = panel.el.querySelector('.graph-body') as HTMLElement;
  body.replaceChildren(
    h(
      'p',
      { class: 'muted' },
      `Run ${view.execution}. Layers follow StartAt; pick a state for its input, output and error.`
    ),
    h('div', { id: 'graph' }, renderGraphLayers(view.graph, view, pick)),
    ...(picked
      ? [
          h(
            'div',
            { id: 'state-detail', 'data-state': picked.name },
            h('h4', {}, `${picked.name} · ${picked.type} · ${run?.status ?? 'not run'}`),
            picked.next.length ? h('p', { class: 'muted' }, `next: ${picked.next.join(', ')}`) : '',
            ...(run?.error ? [h('p', { class: 'error-text', id: 'state-error' }, run.error)] : []),
            h('h5', {}, 'Input'),
            h('pre', { id: 'state-input' }, run?.input ?? '(not entered)'),
            h('h5', {}, 'Output'),
            h('pre', { id: 'state-output' }, run?.output ?? '(no output)')
          ),
        ]
      : [])
  );
};

const refreshGraph = async () => {
  const panel = graphPanel;
  if (!panel?.el.open) return;
  try {
    panel.view = await api<GraphView>(`/api/videos/${encodeURIComponent(panel.id)}/graph`);
    if (graphPanel === panel) renderGraphPanel();
  } catch (err) {
    (panel.el.querySelector('.graph-body') as HTMLElement).replaceChildren(
      h('p', { class: 'error-text' }, (err as Error).message)
    );
  }
};

const graphSection = (id: string): HTMLElement => {
  if (graphPanel?.id !== id) {
    const el = h(
      'details',
      { id: 'graph-details' },
      h('summary', {}, 'Execution graph (latest run)'),
      h('div', { class: 'graph-body' }, h('p', { class: 'muted loading' }, 'Loading the graph…'))
    ) as HTMLDetailsElement;
    el.addEventListener('toggle', () => void refreshGraph());
    graphPanel = { id, el };
  }
  return graphPanel.el;
};

/** Media elements are drawn once per manifest: re-creating them on each poll would restart playback. */
let drawn:
  | { id: string; mediaFor?: string; media?: HTMLElement; player?: HTMLElement | undefined }
  | undefined;

const renderDetail = (d: VideoDetail) => {
  const root = $('detail');
  const id = d.videoId;
  const createdAt = d.manifest?.createdAt;
  if (drawn?.id !== id) drawn = { id };
  if (createdAt && drawn.mediaFor !== createdAt) {
    drawn.mediaFor = createdAt;
    stopPlayer();
    drawn.player = renderPlayer(d);
    drawn.media = renderMedia(d);
  }
  const raw = h(
    'p',
    { class: 'links' },
    h('a', { href: `/api/videos/${encodeURIComponent(id)}`, target: '_blank' }, 'status JSON'),
    h(
      'a',
      { href: `/api/videos/${encodeURIComponent(id)}/history`, target: '_blank' },
      'execution history JSON'
    ),
    ...(d.manifest
      ? [
          h(
            'a',
            { href: artifactUrl(`outputs/${id}/manifest.json`), target: '_blank' },
            'manifest.json'
          ),
        ]
      : [])
  );
  root.replaceChildren(
    h('h2', { id: 'detail-h' }, id),
    renderVerdict(d),
    h(
      'p',
      { class: 'muted' },
      d.runs.length > 1 ? `Latest execution (${d.runs.at(-1)?.name}): ` : 'Execution: ',
      h('span', { id: 'execution-status' }, d.execution.status),
      d.execution.error ? ` · ${d.execution.error}` : ''
    ),
    renderActions(d),
    h('h3', {}, 'Timeline'),
    renderTimeline(d),
    graphSection(id),
    ...(drawn.player ? [h('h3', {}, 'Player'), drawn.player] : []),
    h('h3', {}, 'Thumbnails and renditions'),
    drawn.media ??
      h(
        'p',
        { class: 'muted' },
        d.manifest ? 'This run produced no media.' : 'Shown once the manifest exists.'
      ),
    h('h3', {}, 'Manifest'),
    renderManifest(d),
    raw
  );
};

/** Ids this page uploaded: "not found" only means "not started yet" for them. */
const justUploaded = new Set<string>();

let detailTimer: ReturnType<typeof setTimeout> | undefined;
/** The video opened from the list: brought to the top again once drawn (it is taller then). */
let scrollPending: string | undefined;

const refreshDetail = async () => {
  clearTimeout(detailTimer);
  const id = selectedId();
  if (!id) return;
  let done = false;
  try {
    const d = await api<VideoDetail>(`/api/videos/${encodeURIComponent(id)}`);
    if (selectedId() !== id) return;
    renderDetail(d);
    if (d.execution.status === 'RUNNING') void refreshGraph();
    if (scrollPending === id) {
      scrollPending = undefined;
      $('detail').scrollIntoView({ block: 'start' });
    }
    done = Boolean(d.manifest) && d.execution.status !== 'RUNNING';
    // The list refreshes on its own clock: bring it in line the moment this run ends.
    if (done) void refreshOverview();
  } catch (err) {
    if (selectedId() !== id) return;
    drawn = undefined;
    if (justUploaded.has(id) && (err as ApiError).status === 404) {
      // S3 -> SNS -> SQS -> starter takes a few seconds before the execution exists.
      $('detail').replaceChildren(
        h('h2', {}, id),
        h('p', { class: 'muted' }, 'Uploaded: waiting for the pipeline to start this run…')
      );
      detailTimer = setTimeout(refreshDetail, POLL_MS);
      return;
    }
    $('detail').replaceChildren(
      h('h2', {}, id),
      h('p', { class: 'error-text', role: 'alert', id: 'detail-error' }, (err as Error).message),
      h('p', {}, h('a', { href: '#/' }, 'Back to the list'))
    );
    // An unknown id may yet appear (S3 → SNS → SQS takes seconds): keep looking.
  }
  if (!done) detailTimer = setTimeout(refreshDetail, POLL_MS);
};

// ---- upload ----------------------------------------------------------------------

const upload = async (file: File) => {
  const status = $('upload-status');
  const times = ($('times') as HTMLInputElement).value.trim();
  status.textContent = `uploading ${file.name} (${(file.size / 1024).toFixed(0)} KiB)…`;
  try {
    const q = new URLSearchParams({ name: file.name, ...(times ? { thumbnailTimes: times } : {}) });
    const res = await api<{ videoId: string }>(`/api/upload?${q}`, {
      method: 'POST',
      body: file,
      headers: { 'X-Console-Token': token() },
    });
    status.textContent = `uploaded: ${res.videoId}`;
    justUploaded.add(res.videoId);
    location.hash = videoLink(res.videoId);
    void refreshOverview();
  } catch (err) {
    status.textContent = `upload failed: ${(err as Error).message}`;
  }
};

const wireUpload = () => {
  const drop = $('drop');
  const input = $('file') as HTMLInputElement;
  input.addEventListener('change', () => {
    const f = input.files?.[0];
    if (f) void upload(f);
    input.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void upload(f);
  });
};

/** A deep link shows what it is waiting for, not an empty panel. */
const showLoading = () => {
  if (showsMetrics()) {
    $('detail').replaceChildren(
      h('h2', { id: 'metrics-h' }, 'Metrics per kind'),
      h('p', { class: 'muted loading', role: 'status' }, 'Loading the metrics…')
    );
    return;
  }
  const id = selectedId();
  if (!id) return;
  $('detail').replaceChildren(
    h('h2', { id: 'detail-loading-h' }, id),
    h('p', { class: 'muted loading', role: 'status' }, 'Loading this video…')
  );
};

// ---- start ----------------------------------------------------------------------

const start = async () => {
  // Before any request: a deep link shows what it waits for while the target answers.
  showLoading();
  wireUpload();
  try {
    const t = await api<{ stackName: string; endpoint: string }>('/api/target');
    $('target').textContent = `${t.stackName} at ${t.endpoint}`;
  } catch (err) {
    banner((err as Error).message);
  }
  const filter = $('tenant-filter') as HTMLSelectElement;
  filter.addEventListener('change', () => {
    setTenantFilter(filter.value);
    void refreshOverview();
  });
  window.addEventListener('hashchange', () => {
    drawn = undefined;
    stopPlayer();
    showLoading();
    void refreshDetail();
    void refreshOverview();
    const detail = $('detail');
    if (selectedId() || showsMetrics()) {
      // focus() alone scrolls the least it can, which on a phone (one column, the list
      // above) leaves the heading at the bottom edge: open the video at its header.
      detail.focus({ preventScroll: true });
      detail.scrollIntoView({ block: 'start' });
      scrollPending = selectedId();
    }
  });
  void refreshDetail();
  const loop = async () => {
    await refreshOverview();
    setTimeout(loop, POLL_MS * 2);
  };
  void loop();
};

void start();
