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
    totp: '確認コード（6 桁）',
    totpHelp: '認証アプリに表示されている 6 桁のコードを入力してください。',
    submit: 'サインイン',
    pending: 'サインイン中…',
    deviceNote: 'このアカウントは最初にサインインした PC に登録され、その PC でのみ使えます。',
    errors: {
      invalid_credentials: 'ユーザー名またはパスワードが正しくありません。',
      account_locked: 'サインインの失敗が続いたため、アカウントは {{until}} までロックされています。管理者に解除を依頼することもできます。',
      account_disabled: 'このアカウントは無効になっています。管理者に連絡してください。',
      ip_not_allowed: '現在の場所（IP アドレス）からのサインインは許可されていません。社内ネットワークまたは VPN から接続してください。',
      device_mismatch: 'このアカウントは別の PC に登録されています。この PC で使うには、管理者に PC 登録のリセットを依頼してください。',
      device_revoked: 'この PC の登録は取り消されています。管理者に連絡してください。',
      totp_required: '確認コードを入力してください。',
      totp_invalid: '確認コードが正しくありません。',
      password_policy: 'パスワードの有効期限が切れているか、パスワードポリシーを満たしていません。管理者に連絡してください。',
      rate_limited: '試行回数が多すぎます。{{seconds}} 秒後にもう一度お試しください。',
      unreachable: 'ゲートウェイに接続できません。ネットワーク接続を確認してください。',
      keychain_unavailable: 'OS のキーチェーン（資格情報の保管場所）が使えないため、サインインできません。IT 担当者に連絡してください。',
      unexpected: '予期しないエラーが発生しました。もう一度お試しください。',
    },
  },
  home: {
    welcome: '{{name}} さん、こんにちは',
    role: '役割',
    signOut: 'サインアウト',
    enrolled: 'この PC（{{device}}）をあなたの端末として登録しました。',
    totpEnrolmentRequired: '組織のポリシーにより二要素認証の設定が必要です。',
    ended: {
      expired: 'セッションの有効期限が切れました。もう一度サインインしてください。',
      revoked: 'セッションは管理者により終了されました。もう一度サインインしてください。',
      'signed-out': 'サインアウトしました。',
    },
  },
  locked: {
    heading: '画面はロックされています',
    body: '通話は継続しています。顧客情報は表示されません。',
    unlock: 'ロックを解除',
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
