/**
 * Electron main process: a thin shell. It hardens the app, creates the one SyncHost (core/host),
 * binds the contract to IPC, and runs the tray and the periodic sync. No sync logic lives here.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow } from 'electron';
import type { StatusDto } from '../../core/api/contract';
import { createSyncHost } from '../../core/host/createSyncHost';
import type { SyncHost } from '../../core/host/types';
import { startAutoSync, syncIntervalMs, type AutoSync } from './autoSync';
import { toErrorDto } from './dispatch';
import { bindContract, forwardEvents } from './ipc';
import { createSenderPolicy } from './senderPolicy';
import { createAppTray, type AppTray } from './tray';
import { deriveTrayView, type TrayInputs } from './trayState';
import { createMainWindow, hardenApp } from './window';

const here = path.dirname(fileURLToPath(import.meta.url));
const devUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL;
const sources = {
  preload: path.join(here, '../preload/index.cjs'),
  rendererFile: path.join(here, '../renderer/index.html'),
  devUrl,
};

let mainWindow: BrowserWindow | null = null;
let tray: AppTray | null = null;
let autoSync: AutoSync | null = null;
let hostPromise: Promise<SyncHost> | null = null;
const disposers: Array<() => void> = [];
let quitting = false;
let lifecycle: 'running' | 'closing' | 'closed' = 'running';

function openWindow(): void {
  if (mainWindow && !mainWindow.isDestroyed()) {
    mainWindow.show();
    mainWindow.focus();
    return;
  }
  const win = createMainWindow(sources);
  mainWindow = win;
  win.on('close', (event) => {
    // With a tray, closing the window keeps syncing in the background; "Quit" really quits.
    if (!quitting && tray) {
      event.preventDefault();
      win.hide();
    }
  });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
}

function startBackground(host: SyncHost): void {
  const inputs: TrayInputs = { status: null, syncing: false, lastErrorCode: null };
  const update = (patch: Partial<TrayInputs>): void => {
    Object.assign(inputs, patch);
    tray?.show(deriveTrayView(inputs));
  };
  try {
    tray = createAppTray({ syncNow: () => void autoSync?.runNow(), open: openWindow, quit: () => app.quit() });
  } catch (e) {
    console.warn('ccsync: no system tray available', e);
  }
  disposers.push(forwardEvents(host), host.onDidChangeStatus((status: StatusDto) => update({ status })));
  host.sync.getStatus().then(
    (status) => update({ status }),
    (e: unknown) => update({ lastErrorCode: toErrorDto(e).code }),
  );
  const intervalMs = syncIntervalMs(process.env.CCSYNC_SYNC_INTERVAL_MINUTES);
  autoSync = startAutoSync(host.sync, {
    intervalMs,
    onStart: () => update({ syncing: true }),
    onDone: (outcome) => update({ syncing: false, lastErrorCode: 'error' in outcome ? toErrorDto(outcome.error).code : null }),
  });
  // Sync once at launch, then every interval (0 = manual only).
  if (intervalMs > 0) void autoSync.runNow();
  // While the remote is unreachable, the host probes it on the queue's backoff and drains the
  // queue as soon as it answers (core/host/createSyncHost.ts); the timer above does the rest.
  const offlineProbe = host.startAutoSync({
    intervalMs: 0,
    onRun: (outcome) => {
      if ('result' in outcome) update({ lastErrorCode: null });
      else if ('error' in outcome) update({ lastErrorCode: toErrorDto(outcome.error).code });
    },
  });
  disposers.push(() => offlineProbe.stop());
}

async function shutdown(): Promise<void> {
  autoSync?.stop();
  disposers.splice(0).forEach((dispose) => dispose());
  tray?.destroy();
  tray = null;
  const host = await hostPromise?.catch(() => null);
  // Never hang the quit on a stuck close.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([host?.close(), new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
  clearTimeout(timer);
}

async function main(): Promise<void> {
  await app.whenReady();
  hardenApp(Boolean(devUrl));
  const home = process.env.CCSYNC_HOME ?? path.join(app.getPath('userData'), 'device');
  const starting = createSyncHost({ home });
  hostPromise = starting;
  // A failed start is reported through every call (the dashboard shows it), not as a crash.
  disposers.push(bindContract(() => starting, createSenderPolicy({ fileUrl: pathToFileURL(sources.rendererFile).href, devUrl })));
  openWindow();
  app.on('activate', openWindow);
  app.on('second-instance', openWindow);
  try {
    startBackground(await starting);
  } catch (e) {
    console.error('ccsync: the sync core did not start:', e);
  }
}

app.enableSandbox();
app.on('window-all-closed', () => app.quit());
app.on('before-quit', (event) => {
  quitting = true;
  if (lifecycle === 'closed') return;
  // Close the host (flush the queue, release the database) before the process goes away.
  event.preventDefault();
  if (lifecycle === 'closing') return;
  lifecycle = 'closing';
  void shutdown().finally(() => {
    lifecycle = 'closed';
    app.quit();
  });
});

if (app.requestSingleInstanceLock()) {
  main().catch((e: unknown) => {
    console.error('ccsync: startup failed:', e);
    app.exit(1);
  });
} else {
  app.quit();
}
