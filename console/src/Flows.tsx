import { useEffect } from 'preact/hooks';
import type { ConsoleState } from './store.js';
import { store } from './store.js';
import type { FlowRecord } from './types.js';
import { formatBytes, formatDuration, formatTime, siteNamer } from './format.js';
import { routeHref, useTick } from './hooks.js';

const MAX_ROWS = 500;

function outcomeClass(f: FlowRecord): string {
  return f.outcome === 'active' ? 'active' : f.outcome === 'ok' ? 'ok' : 'error';
}

/** One filter of the toolbar: a labelled select whose first option, "all", is the empty value. */
function FilterSelect(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  testId: string;
  options: Array<{ value: string; label: string }>;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
        data-testid={props.testId}
      >
        <option value="">all</option>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function FlowsPage({ state, params }: { state: ConsoleState; params: URLSearchParams }) {
  const now = useTick(1000);
  const service = params.get('service') ?? '';
  const site = params.get('site') ?? '';
  const outcome = params.get('outcome') ?? '';
  const { network, flows } = state;
  const name = siteNamer(network?.sites);

  useEffect(() => {
    if (service || site) void store.loadFlows({ service, site });
  }, [service, site]);

  const setFilter = (patch: Record<string, string>): void => {
    location.hash = routeHref('flows', { service, site, outcome, ...patch });
  };

  const keys = new Set<string>(network?.services.map((s) => s.routingKey) ?? []);
  for (const f of flows) keys.add(f.routingKey);
  const sites = [...(network?.sites ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));

  const shown = flows.filter(
    (f) =>
      (!service || f.routingKey === service) &&
      (!site || f.sourceSite === site || f.destSite === site) &&
      (!outcome || outcomeClass(f) === outcome),
  );

  return (
    <div class="card">
      <div class="toolbar">
        <h2>Flows</h2>
        <FilterSelect
          label="service"
          value={service}
          onChange={(v) => setFilter({ service: v })}
          testId="flow-filter-service"
          options={[...keys].sort().map((k) => ({ value: k, label: k }))}
        />
        <FilterSelect
          label="site"
          value={site}
          onChange={(v) => setFilter({ site: v })}
          testId="flow-filter-site"
          options={sites.map((s) => ({ value: s.id, label: s.name }))}
        />
        <FilterSelect
          label="outcome"
          value={outcome}
          onChange={(v) => setFilter({ outcome: v })}
          testId="flow-filter-outcome"
          options={[
            { value: 'active', label: 'active' },
            { value: 'ok', label: 'ok' },
            { value: 'error', label: 'errors' },
          ]}
        />
        <div class="spacer" />
        <span class="muted" data-testid="flow-count">
          {Math.min(shown.length, MAX_ROWS)} of {shown.length} shown
        </span>
      </div>
      {shown.length === 0 ? (
        <div class="empty" data-testid="flows-empty">
          No flows{service || site || outcome ? ' match the filter' : ' recorded yet'}.
        </div>
      ) : (
        <table class="grid flows" data-testid="flows-table">
          <thead>
            <tr>
              <th>started</th>
              <th class="num">duration</th>
              <th>service</th>
              <th>from (listener site · client)</th>
              <th>to (connector site · target)</th>
              <th class="num">bytes out</th>
              <th class="num">bytes in</th>
              <th>outcome</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, MAX_ROWS).map((f) => {
              const start = Date.parse(f.startedAt);
              const end = f.endedAt ? Date.parse(f.endedAt) : now;
              return (
                <tr
                  key={f.id}
                  data-testid="flow-row"
                  data-flow-id={f.id}
                  data-service={f.routingKey}
                  data-outcome={f.outcome}
                  data-bytes-out={f.bytesOut}
                  data-bytes-in={f.bytesIn}
                >
                  <td class="mono" title={f.startedAt}>
                    {formatTime(f.startedAt)}
                  </td>
                  <td class="num">{formatDuration(end - start)}</td>
                  <td>
                    <span class="key">{f.routingKey}</span>
                    <span class="proto">{f.protocol}</span>
                  </td>
                  <td title={`listener ${f.listener}`}>
                    {name(f.sourceSite)} <span class="muted mono">{f.clientAddress}</span>
                  </td>
                  <td title={f.connector ? `connector ${f.connector}` : undefined}>
                    {f.destSite ? name(f.destSite) : <span class="muted">–</span>}{' '}
                    {f.targetAddress && <span class="muted mono">{f.targetAddress}</span>}
                  </td>
                  <td class="num" title={`${f.bytesOut} bytes client → server`}>
                    {formatBytes(f.bytesOut)}
                  </td>
                  <td class="num" title={`${f.bytesIn} bytes server → client`}>
                    {formatBytes(f.bytesIn)}
                  </td>
                  <td>
                    <span class={`badge outcome-${outcomeClass(f)}`}>{f.outcome}</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
