// The admin console's messages (Japanese, the reference locale). Each section adds its own
// sub-object here (admin.<section>.*).
import { adminOrgJa } from './admin-org.ja';
import { adminTeamsJa } from './admin-teams.ja';
import { adminRolesJa } from './admin-roles.ja';
import { adminCampaignsJa } from './admin-campaigns.ja';

import { adminUsersJa } from './admin-users.ja';
import { adminSessionsJa } from './admin-sessions.ja';
import { adminDevicesJa } from './admin-devices.ja';
import { adminAlertsJa, adminWebhooksJa } from './admin-alerts.ja';
import { adminAuditJa } from './admin-audit.ja';
import { adminPolicyJa } from './admin-policy.ja';

export const adminJa = {
  heading: '管理コンソール',
  sectionsLabel: '管理項目',
  open: '管理コンソール',
  back: '業務画面に戻る',
  sections: {
    users: 'ユーザー',
    teams: 'チーム',
    roles: 'ロールと権限',
    campaigns: 'キャンペーン',
    devices: '端末',
    sessions: 'セッション',
    alerts: 'アラート',
    webhooks: 'Webhook 通知',
    policy: '組織ポリシー',
    audit: '監査ログ',
  },
  alerts: adminAlertsJa,
  webhooks: adminWebhooksJa,
  common: {
    save: '保存',
    saving: '保存中…',
    saved: '保存しました。',
    cancel: 'キャンセル',
    loading: '読み込み中…',
    next: '次へ',
    previous: '前へ',
    search: '検索',
    none: '該当するものはありません。',
    confirm: '実行する',
  },
  org: adminOrgJa,
  teams: adminTeamsJa,
  roles: adminRolesJa,
  campaigns: adminCampaignsJa,
  users: adminUsersJa,
  sessions: adminSessionsJa,
  devices: adminDevicesJa,
  policy: adminPolicyJa,
  audit: adminAuditJa,
  errors: {
    forbidden: 'この操作の権限がありません。',
    not_found: '対象が見つかりません。ほかの管理者が削除した可能性があります。一覧を再読み込みしてください。',
    conflict: '同じ名前のものが既にあるか、ほかの管理者が先に変更しました。一覧を再読み込みしてからやり直してください。',
    validation_failed: '入力内容を確認してください。',
    password_policy: 'パスワードが組織のルールを満たしていません。',
    rate_limited: '操作が多すぎます。少し待ってからもう一度お試しください。',
    unreachable: 'ゲートウェイに接続できません。入力内容はそのまま残っています。接続を確認してもう一度保存してください。',
    policy_lockout: 'この変更を保存すると、あなた自身がサインインできなくなります。',
    last_admin: '最後の管理者は無効化・削除・降格できません。先にほかの管理者を用意してください。',
    in_use: '使用中のため削除できません。',
    session: 'セッションが終了しました。もう一度サインインしてください。',
    unexpected: '予期しないエラーが発生しました。もう一度お試しください。続く場合は IT 担当者に連絡してください。',
  },
};
