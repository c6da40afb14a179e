// Live updates: one shared server-sent-event stream (`/v1/events`) of the sales, trades and
// order-book changes (listings and offers placed or cancelled) the index records, opened while at least one page listens. The server ends each stream after
// `max_seconds`; EventSource reconnects by itself, and a page refetches what it shows on each
// event, so an event missed across a reconnect is only a late refresh, never a wrong figure.

export type LiveKind = 'sale' | 'trade' | 'order';
export type Listener = (kind: LiveKind, contentId: string) => void;

const listeners = new Set<Listener>();
let source: EventSource | null = null;

function dispatch(kind: LiveKind, e: MessageEvent): void {
  let contentId: unknown;
  try {
    contentId = (JSON.parse(String(e.data)) as { content_id?: unknown }).content_id;
  } catch {
    return;
  }
  if (typeof contentId !== 'string') return;
  for (const l of listeners) l(kind, contentId.toLowerCase());
}

/** Calls `listener` on every sale, trade and order change until the returned function is called. */
export function listen(listener: Listener): () => void {
  listeners.add(listener);
  if (!source && typeof EventSource !== 'undefined') {
    source = new EventSource('/v1/events?max_seconds=3600');
    for (const kind of ['sale', 'trade', 'order'] as const) {
      source.addEventListener(kind, (e) => dispatch(kind, e as MessageEvent));
    }
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && source) {
      source.close();
      source = null;
    }
  };
}
