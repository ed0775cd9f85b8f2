import type { JSX } from 'react';
import { ItemsList } from './features/items/ItemsList';
import { Dashboard } from './features/status/Dashboard';
import { StatusStoreContext, type StatusStore } from './features/status/useStatusStore';

export function App({ statusStore }: { statusStore: StatusStore }): JSX.Element {
  return (
    <StatusStoreContext.Provider value={statusStore}>
      <div className="app">
        <header className="topbar">
          <h1 className="topbar__title">CCJK Cloud Sync</h1>
        </header>
        <main className="content">
          <Dashboard />
          <ItemsList />
        </main>
      </div>
    </StatusStoreContext.Provider>
  );
}

/** Shown when no transport is available (e.g. the page opened outside the app or the daemon). */
export function NoConnection(): JSX.Element {
  return (
    <div className="app">
      <main className="content">
        <section className="card" data-testid="no-connection">
          <h2>Not connected</h2>
          <p>This page talks to the sync core through the desktop app or the local daemon, and neither is available.</p>
        </section>
      </main>
    </div>
  );
}
