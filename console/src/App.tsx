import { useConsole, useRoute, useTick, routeHref } from './hooks.js';
import type { ConnState } from './store.js';
import { TopologyPage } from './Topology.js';
import { ServicesPage } from './Services.js';
import { TrafficPage } from './Traffic.js';
import { FlowsPage } from './Flows.js';
import { siteNamer } from './format.js';

const PAGES = [
  { id: 'topology', title: 'Topology' },
  { id: 'services', title: 'Services' },
  { id: 'traffic', title: 'Traffic' },
  { id: 'flows', title: 'Flows' },
] as const;

const CONN_TEXT: Record<ConnState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

export function App() {
  const state = useConsole();
  const route = useRoute();
  const now = useTick(1000);
  const { network } = state;
  const name = siteNamer(network?.sites);
  const page = PAGES.some((p) => p.id === route.page) ? route.page : 'topology';
  const age = state.lastUpdate === null ? null : Math.max(0, Math.round((now - state.lastUpdate) / 1000));

  return (
    <div class="shell">
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Caravan
        </div>
        <nav>
          {PAGES.map((p) => (
            <a
              key={p.id}
              href={routeHref(p.id)}
              class={page === p.id ? 'active' : ''}
              data-testid={`nav-${p.id}`}
              aria-current={page === p.id ? 'page' : undefined}
            >
              {p.title}
            </a>
          ))}
        </nav>
        <div class="spacer" />
        {network && (
          <div
            class="observer"
            title={`model built by router ${network.observedBy} at ${network.generatedAt}`}
          >
            via <strong>{name(network.observedBy)}</strong>
          </div>
        )}
        <div
          class={`conn conn-${state.conn}`}
          data-testid="conn-status"
          data-state={state.conn}
          title={age === null ? 'no data yet' : `last update ${age} s ago`}
        >
          <span class="dot" />
          {CONN_TEXT[state.conn]}
        </div>
      </header>
      {state.error && (
        <div class="banner" role="alert" data-testid="error-banner">
          Cannot load data from the router: {state.error}
        </div>
      )}
      <main class={`page page-${page}`} data-testid={`page-${page}`}>
        {page === 'topology' && <TopologyPage state={state} />}
        {page === 'services' && <ServicesPage state={state} />}
        {page === 'traffic' && <TrafficPage state={state} />}
        {page === 'flows' && <FlowsPage state={state} params={route.params} />}
      </main>
    </div>
  );
}
