// A small History API router: the server answers every client route with index.html.

class Location {
  path = $state(window.location.pathname);
  search = $state(window.location.search);
}

export const location = new Location();

function sync(): void {
  location.path = window.location.pathname;
  location.search = window.location.search;
}

export function go(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  sync();
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', sync);

/** Sends same-origin link clicks through the router instead of reloading the page. */
export function interceptLinks(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest('a');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== window.location.origin) return;
  e.preventDefault();
  go(a.pathname + a.search);
}
