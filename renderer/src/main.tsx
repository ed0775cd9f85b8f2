import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { SyncService } from '../../core/api/contract';
import { App, NoConnection } from './App';
import { connectStatusEvents, createStatusStore } from './features/status/useStatusStore';
import { pickTransport } from './ipc/pickTransport';
import { createServiceProxy } from './ipc/proxy';
import './styles.css';

const container = document.getElementById('root');
if (!container) throw new Error('missing #root');
const root = createRoot(container);
const transport = pickTransport();

if (transport) {
  const statusStore = createStatusStore(createServiceProxy<SyncService>(transport, 'sync'));
  connectStatusEvents(statusStore, transport);
  void statusStore.getState().refresh();
  root.render(
    <StrictMode>
      <App statusStore={statusStore} />
    </StrictMode>,
  );
} else {
  root.render(<NoConnection />);
}
