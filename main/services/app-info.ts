import type { AppInfo } from '../../shared/ipc/contract';

/** The few facts of Electron's `app` Koe shows; the dev host passes its own. */
export interface AppFacts {
  getName(): string;
  getVersion(): string;
  getLocale(): string;
}

export class AppInfoService {
  constructor(
    private readonly app: AppFacts,
    private readonly host: AppInfo['host'],
    private readonly platform: string,
  ) {}

  info(): AppInfo {
    return {
      name: this.app.getName(),
      version: this.app.getVersion(),
      platform: this.platform,
      host: this.host,
      locale: this.app.getLocale(),
    };
  }
}
