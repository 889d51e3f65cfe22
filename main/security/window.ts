import type { BrowserWindowConstructorOptions } from 'electron';

export interface WindowOptionsInput {
  preloadPath: string;
  title: string;
  /** Hidden until ready-to-show, so no unstyled or half-loaded frame is ever shown. */
  show?: boolean;
}

/** The only BrowserWindow options Koe uses. Table-tested: every security flag is pinned. */
export function windowOptions({ preloadPath, title, show = false }: WindowOptionsInput): BrowserWindowConstructorOptions {
  return {
    title,
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show,
    backgroundColor: '#10151c',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      enableBlinkFeatures: '',
      // Middle-click (auxclick) would otherwise open links in new windows.
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: true,
    },
  };
}
