/** Window creation and the process-wide hardening of every web contents (BRIEF §9). */
import { app, BrowserWindow, session, type WebContents } from 'electron';
import { CSP_DEV, CSP_HEADER } from './csp';

export interface WindowSources {
  preload: string;
  /** Built renderer (production). */
  rendererFile: string;
  /** Dev server URL (development only). */
  devUrl?: string | undefined;
}

function hardenContents(contents: WebContents): void {
  // The UI is a single page: it never navigates, opens windows or embeds guests.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Call once, after `app.whenReady()` and before the first window. */
export function hardenApp(dev: boolean): void {
  app.on('web-contents-created', (_event, contents) => hardenContents(contents));
  const policy = dev ? CSP_DEV : CSP_HEADER;
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    const headers = Object.fromEntries(
      Object.entries(details.responseHeaders ?? {}).filter(([k]) => k.toLowerCase() !== 'content-security-policy'),
    );
    callback({ responseHeaders: { ...headers, 'Content-Security-Policy': [policy] } });
  });
  // No camera, notifications, clipboard-read, …: the UI needs none of them.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

export function createMainWindow(sources: WindowSources): BrowserWindow {
  const win = new BrowserWindow({
    width: 1040,
    height: 760,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'CCJK Cloud Sync',
    backgroundColor: '#f6f7fb',
    autoHideMenuBar: true,
    webPreferences: {
      preload: sources.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  if (sources.devUrl) void win.loadURL(sources.devUrl);
  else void win.loadFile(sources.rendererFile);
  return win;
}
