// A page of the catalogue and the pages after it (keyset paging), as the catalogue and the
// studio's "My contents" list them.
import { catalogue, type CatalogueQuery, type ContentSummary } from './api';

export class CatalogueList {
  items = $state<ContentSummary[]>([]);
  cursor = $state<string | null>(null);
  asOf = $state<number | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);

  /** Loads the first page of `query`, or with `more` the page after those loaded. */
  async load(query: Omit<CatalogueQuery, 'cursor'>, more: boolean, signal?: AbortSignal): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const page = await catalogue({ ...query, cursor: more ? (this.cursor ?? undefined) : undefined }, signal);
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.cursor = page.next_cursor;
      this.asOf = page.as_of_block;
    } catch (e) {
      if (signal?.aborted) return;
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (!signal?.aborted) this.loading = false;
    }
  }
}
