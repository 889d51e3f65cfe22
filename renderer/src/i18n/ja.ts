/** Japanese is the default UI language; the English file must provide every key here. */
export const ja = {
  app: {
    title: 'Koe',
    devhostTitle: 'Koe — 開発用ホスト（開発・テスト専用）',
    devhostBanner: '開発用ホストで実行中です（開発・テスト専用。製品版は Electron で動作します）。',
  },
  status: {
    gateway: 'ゲートウェイ',
    phone: '電話',
    lock: 'ロック',
    gatewayUnknown: '確認中…',
    gatewayOnline: '接続済み',
    gatewayOffline: '接続できません',
    phoneOffline: '未登録',
    locked: 'ロック中',
    unlocked: '解除',
    lockNow: '今すぐロック',
  },
  signin: {
    heading: 'サインイン',
    username: 'ユーザー名',
    password: 'パスワード',
    submit: 'サインイン',
    notYet: 'ゲートウェイとのサインインは次のリリースで有効になります。',
  },
  locked: {
    heading: '画面はロックされています',
    body: '通話は継続しています。顧客情報は表示されません。',
  },
  about: {
    heading: 'アプリ情報',
    version: 'バージョン',
    platform: 'プラットフォーム',
    host: '実行環境',
    hostElectron: 'Electron',
    hostDevhost: '開発用ホスト',
    gatewayUrl: 'ゲートウェイ URL',
    managed: '組織のポリシーで設定',
  },
  language: {
    label: '表示言語',
    ja: '日本語',
    en: 'English',
    managed: '表示言語は組織のポリシーで固定されています。',
  },
  errors: {
    bridge: 'アプリ本体と通信できません: {{message}}',
  },
};

/** The shape every locale must have: same keys, any text. */
type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> };
export type Messages = Shape<typeof ja>;
