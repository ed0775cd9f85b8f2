/** Tray: state icon, the state in words, Sync now, Open, Quit (BRIEF §8). */
import { Menu, Tray, nativeImage, type NativeImage } from 'electron';
import errorIcon from '../../assets/tray-error.png?asset';
import syncingIcon from '../../assets/tray-syncing.png?asset';
import idleIcon from '../../assets/tray.png?asset';
import type { TrayIconState, TrayView } from './trayState';

export interface TrayActions {
  syncNow(): void;
  open(): void;
  quit(): void;
}

export interface AppTray {
  show(view: TrayView): void;
  destroy(): void;
}

function load(file: string): NativeImage {
  const image = nativeImage.createFromPath(file);
  // macOS menu bar icons are 16 pt; Linux and Windows take the 32 px image as is.
  return process.platform === 'darwin' ? image.resize({ width: 16, height: 16 }) : image;
}

export function createAppTray(actions: TrayActions): AppTray {
  const icons: Record<TrayIconState, NativeImage> = {
    idle: load(idleIcon),
    syncing: load(syncingIcon),
    error: load(errorIcon),
  };
  const tray = new Tray(icons.idle);
  tray.on('click', () => actions.open());

  const show = (view: TrayView): void => {
    tray.setImage(icons[view.icon]);
    tray.setToolTip(`CCJK Cloud Sync — ${view.label}`);
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: view.label, enabled: false },
        { type: 'separator' },
        { label: 'Sync now', enabled: view.icon !== 'syncing', click: () => actions.syncNow() },
        { label: 'Open', click: () => actions.open() },
        { type: 'separator' },
        { label: 'Quit', click: () => actions.quit() },
      ]),
    );
  };
  show({ icon: 'idle', label: 'Starting…' });
  return { show, destroy: () => tray.destroy() };
}
