// Electron preload (sandboxed, contextIsolation): the contextBridge API only.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildKoeApi } from './api';

const transport = {
  invoke: (channel: string, input: unknown) => ipcRenderer.invoke(channel, input),
  subscribe(event: string, listener: (payload: unknown) => void) {
    // Never hand the renderer the IpcRendererEvent (it exposes `sender`).
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(event, wrapped);
    return () => {
      ipcRenderer.removeListener(event, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('koe', buildKoeApi(transport));
