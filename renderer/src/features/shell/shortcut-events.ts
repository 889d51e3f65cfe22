/** The status bar's "Shortcuts" button asks <Shortcuts> to open its list (a window event: no shared store). */
export const OPEN_SHORTCUTS_EVENT = 'koe:open-shortcuts';
