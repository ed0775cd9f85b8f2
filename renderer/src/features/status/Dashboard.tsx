import { useEffect, useState, type JSX } from 'react';
import type { SyncResultDto } from '../../../../core/api/contract';
import { countByState } from '../items/items';
import { formatBytes, formatDuration, formatRelative, plural } from './format';
import { useStatusStore, type StatusError } from './useStatusStore';

/** Re-renders every `ms` so relative times ("5 minutes ago") stay true. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

function ErrorBanner({ error }: { error: StatusError }): JSX.Element {
  return (
    <div className="alert" role="alert" data-testid="status-error">
      <strong>{error.action === 'sync' ? 'Sync failed' : 'Could not read the status'}</strong>{' '}
      <code className="alert__code" data-testid="error-code">
        {error.code}
      </code>
      <p>{error.message}</p>
    </div>
  );
}

function LastResult({ result }: { result: SyncResultDto }): JSX.Element {
  return (
    <p className="result" data-testid="sync-result">
      Last run: pushed <strong>{result.pushed}</strong>, pulled <strong>{result.pulled}</strong>,{' '}
      <span className={result.conflicts > 0 ? 'result__conflicts' : undefined}>
        {plural(result.conflicts, 'conflict')}
      </span>{' '}
      · {formatBytes(result.bytesUploaded)} up · {formatBytes(result.bytesDownloaded)} down ·{' '}
      {formatDuration(result.durationMs)}
    </p>
  );
}

export function Dashboard(): JSX.Element {
  const status = useStatusStore((s) => s.status);
  const loading = useStatusStore((s) => s.loading);
  const syncing = useStatusStore((s) => s.syncing);
  const error = useStatusStore((s) => s.error);
  const lastResult = useStatusStore((s) => s.lastResult);
  const syncNow = useStatusStore((s) => s.syncNow);
  const now = useNow(30_000);
  const states = status ? countByState(status.items) : null;
  const pending = states ? states['pending-up'] + states['pending-down'] : 0;

  return (
    <section className="card" aria-labelledby="dashboard-heading" data-testid="dashboard" aria-busy={loading}>
      <header className="card__header">
        <h2 id="dashboard-heading">Dashboard</h2>
        <button
          type="button"
          className="button button--primary"
          onClick={() => void syncNow()}
          disabled={syncing}
          aria-busy={syncing}
          data-testid="sync-now"
        >
          {syncing ? <span className="spinner" aria-hidden="true" /> : null}
          {syncing ? 'Syncing…' : 'Sync now'}
        </button>
      </header>

      {error ? <ErrorBanner error={error} /> : null}

      {status ? (
        <dl className="facts">
          <div>
            <dt>Device</dt>
            <dd>
              <span data-testid="device-name">{status.device.name}</span>
              <br />
              <code className="muted small" data-testid="device-id">
                {status.device.id}
              </code>
            </dd>
          </div>
          <div>
            <dt>Folder</dt>
            <dd>
              <code data-testid="sync-root">{status.root}</code>
            </dd>
          </div>
          <div>
            <dt>Remote</dt>
            <dd>
              <code data-testid="sync-remote">{status.remote}</code>
            </dd>
          </div>
          <div>
            <dt>Last sync</dt>
            <dd data-testid="last-sync">
              {status.lastSync ? (
                <time dateTime={status.lastSync} title={new Date(status.lastSync).toLocaleString()}>
                  {formatRelative(status.lastSync, now)}
                </time>
              ) : (
                'never'
              )}
            </dd>
          </div>
          <div>
            <dt>Waiting to upload</dt>
            <dd data-testid="queue-count">{status.queue}</dd>
          </div>
          {states ? (
            <div>
              <dt>Items</dt>
              <dd data-testid="item-summary">
                {status.items.length} total · {states.synced} synced · {pending} pending
                {states.conflict > 0 ? <span className="result__conflicts"> · {plural(states.conflict, 'conflict')}</span> : null}
                {states.error > 0 ? <span className="result__conflicts"> · {plural(states.error, 'error')}</span> : null}
              </dd>
            </div>
          ) : null}
        </dl>
      ) : (
        <p className="empty" data-testid="status-loading">
          {loading ? 'Loading status…' : 'No status yet.'}
        </p>
      )}

      {lastResult ? <LastResult result={lastResult} /> : null}
    </section>
  );
}
