import type { Messages } from './ja';

export const en: Messages = {
  app: {
    title: 'Koe',
    devhostTitle: 'Koe — dev host (development and test tool)',
    devhostBanner: 'Running in the dev host (a development and test tool; the product runs in Electron).',
  },
  status: {
    gateway: 'Gateway',
    phone: 'Phone',
    lock: 'Lock',
    gatewayUnknown: 'Checking…',
    gatewayOnline: 'Connected',
    gatewayOffline: 'Unreachable',
    phoneOffline: 'Not registered',
    locked: 'Locked',
    unlocked: 'Unlocked',
    lockNow: 'Lock now',
  },
  signin: {
    heading: 'Sign in',
    username: 'Username',
    password: 'Password',
    submit: 'Sign in',
    notYet: 'Signing in to the gateway arrives in the next release.',
  },
  locked: {
    heading: 'The screen is locked',
    body: 'Calls continue. Customer data is not shown.',
  },
  about: {
    heading: 'About this app',
    version: 'Version',
    platform: 'Platform',
    host: 'Host',
    hostElectron: 'Electron',
    hostDevhost: 'Dev host',
    gatewayUrl: 'Gateway URL',
    managed: 'Set by your organisation’s policy',
  },
  language: {
    label: 'Language',
    ja: '日本語',
    en: 'English',
    managed: 'The language is fixed by your organisation’s policy.',
  },
  errors: {
    bridge: 'Cannot reach the app core: {{message}}',
  },
};
