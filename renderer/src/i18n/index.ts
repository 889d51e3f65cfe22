import i18next, { type i18n } from 'i18next';
import { initReactI18next } from 'react-i18next';
import type { Language } from '../../../shared/ipc/contract';
import { en } from './en';
import { ja } from './ja';

export const resources = { ja: { translation: ja }, en: { translation: en } } as const;

/** One i18next instance per app (and per component test). Japanese first: most of Koe's users are in Japan. */
export function createI18n(language: Language = 'ja'): i18n {
  const instance = i18next.createInstance();
  void instance.use(initReactI18next).init({
    resources,
    lng: language,
    fallbackLng: 'ja',
    interpolation: { escapeValue: false }, // React escapes
    initAsync: false,
    returnNull: false,
    showSupportNotice: false,
  });
  return instance;
}
