import { useTranslation } from 'react-i18next';

/** Previous / next for a list paged with usePages (./pages.ts); `testid`-prev and `testid`-next. */
export function PagerButtons({ pages, testid }: { pages: { page: number; next: string | null; loading: boolean; back(): Promise<void>; forward(): Promise<void> }; testid: string }) {
  const { t } = useTranslation();
  return (
    <div className="row">
      <button type="button" onClick={() => void pages.back()} disabled={pages.page === 0 || pages.loading} data-testid={`${testid}-prev`}>{t('admin.common.previous')}</button>
      <button type="button" onClick={() => void pages.forward()} disabled={!pages.next || pages.loading} data-testid={`${testid}-next`}>{t('admin.common.next')}</button>
    </div>
  );
}
