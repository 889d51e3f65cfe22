// What a console section is (renderer/src/features/admin/sections.ts lists them). Apart from the
// list so a section can name its props without importing the list that imports it.
import type { ComponentType } from 'react';
import type { Permission } from '../../../../shared/gateway/permissions';

export interface SectionProps {
  /** Whether the signed-in user holds a permission (to offer an action; the gateway decides). */
  can: (permission: Permission) => boolean;
}

export interface ConsoleSection {
  /** Also the i18n key: admin.sections.<id>, and the test id: admin-tab-<id>, admin-section-<id>. */
  id: string;
  permission: Permission;
  Component: ComponentType<SectionProps>;
}
