// Koe's Electron composition root: the only file that imports `electron` as a value.
// Everything it wires is a plain service or a pure function, tested without Electron.
import { app, BrowserWindow, globalShortcut, ipcMain, Menu, nativeImage, net, Notification, powerMonitor, protocol, session, shell, Tray } from 'electron';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { channelTable } from '../shared/ipc/contract';
import { serveAsset } from './assets';
import { createDispatcher } from './ipc/dispatcher';
import { consoleLogger } from './log';
import { loadManagedPolicy } from './managed-policy';
import { contentSecurityPolicy } from './security/csp';
import { disableDiskCache, secureMediaSession } from './security/media-session';
import { navigationAllowed, windowOpenDecision } from './security/navigation';
import { chooseHidDevice, hidDeviceAllowed, permissionCheck, permissionDecision } from './security/permissions';
import { windowOptions } from './security/window';
import { loadKeytar } from './secrets/vault';
import { loadTrustRoot } from './updates/trust-root';
import { RendererRecovery } from './renderer-recovery';
import { createHandlers, createMainServices, wireEvents } from './services';

const APP_SCHEME = 'koe';
const APP_ORIGIN = `${APP_SCHEME}://app`;
const EXTERNAL_ALLOWLIST: readonly string[] = [];
const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(here, '../renderer');

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);
app.enableSandbox();
// no HTTP disk cache in any session (recordings are streamed, never stored): before ready
disableDiskCache(app.commandLine);

async function main(): Promise<void> {
  const managed = await loadManagedPolicy(process.platform, process.env);
  if (!managed.ok) {
    const { dialog } = await import('electron');
    dialog.showErrorBox('Koe', managed.message);
    app.exit(1);
    return;
  }
  await app.whenReady();
  const log = consoleLogger('main');
  const services = await createMainServices({
    app,
    host: 'electron',
    platform: process.platform,
    userDataDir: app.getPath('userData'),
    managedPolicy: managed.policy,
    fetch: (url, init) => net.fetch(url, init),
    dropConnections: () => session.defaultSession.closeAllConnections(),
    clock: { now: () => Date.now() },
    openExternal: (url) => shell.openExternal(url),
    externalAllowlist: EXTERNAL_ALLOWLIST,
    keytar: await loadKeytar(),
    power: powerMonitor,
    deviceName: () => os.hostname(),
    // verified updates (docs/updates.md); the hand-over to the installer is not built yet: a verified update is announced
    updates: {
      fetch: (url, init) => net.fetch(url, init),
      trustRoot: await loadTrustRoot(app.isPackaged ? path.join(process.resourcesPath, 'update-root.json') : path.join(app.getAppPath(), 'build', 'update-root.json'), consoleLogger('updates')),
      arch: process.arch,
      installer: null,
    },
    globalShortcut,
    notification: Notification.isSupported() ? (o) => new Notification(o) : null,
    tray: (icon) => {
      const image = (i: typeof icon) => {
        const img = nativeImage.createFromBuffer(i.png, { scaleFactor: 1 });
        img.addRepresentation({ scaleFactor: 2, buffer: i.png2x });
        return img;
      };
      const t = new Tray(image(icon));
      return {
        setImage: (i) => t.setImage(image(i)),
        setToolTip: (text) => t.setToolTip(text),
        setContextMenu: (items) => t.setContextMenu(Menu.buildFromTemplate(items.map((m) => ({ label: m.label, enabled: m.enabled, ...(m.click ? { click: m.click } : {}) })))),
        onClick: (l) => void t.on('click', l),
        destroy: () => t.destroy(),
      };
    },
  });
  services.idle.start();
  services.updates.start();
  app.on('will-quit', () => services.updates.stop());
  app.on('will-quit', () => services.shortcuts.stop());
  const policy = () => services.policy.effective().policy;
  const csp = () => contentSecurityPolicy({ connect: [policy().gatewayUrl, policy().sipWssUrl] });

  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'app') return new Response('Not found', { status: 404 });
    const res = await serveAsset(rendererDir, url.pathname, csp());
    return new Response(typeof res.body === "string" ? res.body : new Uint8Array(res.body), { status: res.status, headers: res.headers });
  });

  const ses = session.defaultSession;
  await secureMediaSession(ses, log);
  ses.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(
      permissionDecision(APP_ORIGIN, {
        permission,
        requestingUrl: details.requestingUrl,
        mediaTypes: 'mediaTypes' in details ? details.mediaTypes : [],
        isMainFrame: details.isMainFrame,
      }),
    ),
  );
  ses.setPermissionCheckHandler((_wc, permission, requestingOrigin, details) =>
    permissionCheck(APP_ORIGIN, permission, requestingOrigin, 'mediaType' in details ? details.mediaType : undefined),
  );

  // USB headsets (WebHID): only the policy's headset vendors, only for Koe's origin
  ses.setDevicePermissionHandler((details) =>
    hidDeviceAllowed(APP_ORIGIN, { deviceType: details.deviceType, origin: details.origin, vendorId: 'vendorId' in details.device ? Number(details.device.vendorId) : undefined }, policy().headsetVendorIds),
  );
  ses.on('select-hid-device', (event, details, callback) => {
    event.preventDefault();
    callback(chooseHidDevice(APP_ORIGIN, details.frame?.url, details.deviceList.map((d) => ({ deviceId: d.deviceId, vendorId: Number(d.vendorId) })), policy().headsetVendorIds));
  });

  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!navigationAllowed(APP_ORIGIN, url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!navigationAllowed(APP_ORIGIN, url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      const decision = windowOpenDecision(url, EXTERNAL_ALLOWLIST);
      if (decision.openExternally) void shell.openExternal(url);
      return { action: decision.action };
    });
  });

  const dispatch = createDispatcher(createHandlers(services), APP_ORIGIN, log, () => services.lock.current().locked);
  for (const name of channelTable.keys()) {
    ipcMain.handle(name, (event, input) =>
      dispatch({ url: event.senderFrame?.url, isMainFrame: event.senderFrame === event.sender.mainFrame }, name, input),
    );
  }

  const options = windowOptions({ preloadPath: path.join(here, '../preload/index.cjs'), title: 'Koe' });
  const win = new BrowserWindow({
    ...options,
    // windowOptions() is the tested source of truth; the flags that matter most are
    // repeated as literals so static checkers (electronegativity in npm test) can see them.
    webPreferences: {
      ...options.webPreferences,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      disableBlinkFeatures: 'Auxclick',
    },
  });
  win.setContentProtection(policy().contentProtection);
  services.policy.onChange((p) => win.setContentProtection(p.policy.contentProtection));
  wireEvents(services, (event, payload) => {
    if (!win.isDestroyed()) win.webContents.send(event, payload);
  });
  win.once('ready-to-show', () => win.show());
  services.ringAlert.attach(win);
  services.tray.attach(win);
  app.on('will-quit', () => services.tray.destroy());
  // A crashed renderer: main (session, link, outbox) lives on; the window loads the app again
  // and the new renderer reads its state back from main (main/renderer-recovery.ts).
  const recovery = new RendererRecovery({
    window: { isDestroyed: () => win.isDestroyed(), reload: () => win.loadURL(`${APP_ORIGIN}/index.html`) },
    log: consoleLogger('window'),
    now: () => Date.now(),
  });
  win.webContents.on('render-process-gone', (_e, details) => void recovery.gone(details));
  await win.loadURL(`${APP_ORIGIN}/index.html`);
}

app.on('window-all-closed', () => app.quit());
main().catch((err) => {
  console.error('Koe failed to start:', err instanceof Error ? err.message : err);
  app.exit(1);
});
