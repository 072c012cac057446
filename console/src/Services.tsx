import { useState } from 'preact/hooks';
import type { ConsoleState } from './store.js';
import type { ServiceEndpoint, TrafficSample } from './types.js';
import { formatCount, formatRate, siteNamer } from './format.js';
import { routeHref } from './hooks.js';

export function ServicesPage({ state }: { state: ConsoleState }) {
  const [filter, setFilter] = useState('');
  const { network, traffic } = state;
  if (!network) return <div class="empty">Loading the network model…</div>;
  const name = siteNamer(network.sites);
  const reachable = new Set(network.sites.filter((s) => s.reachable).map((s) => s.id));
  const needle = filter.trim().toLowerCase();
  const services = [...network.services]
    .filter((s) => !needle || s.routingKey.toLowerCase().includes(needle))
    .sort((a, b) => (a.routingKey < b.routingKey ? -1 : 1));
  const latest = traffic[traffic.length - 1];
  const matched = network.services.filter((s) => s.matched).length;

  return (
    <div class="card">
      <div class="toolbar">
        <h2>Services</h2>
        <span class="muted">
          {network.services.length} routing keys · {matched} matched · {network.services.length - matched}{' '}
          unmatched
        </span>
        <div class="spacer" />
        <input
          type="search"
          placeholder="filter routing keys"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          data-testid="service-filter"
        />
      </div>
      {services.length === 0 ? (
        <div class="empty">
          No services{needle ? ' match the filter' : ' yet: create a listener and a connector'}.
        </div>
      ) : (
        <table class="grid" data-testid="services-table">
          <thead>
            <tr>
              <th>routing key</th>
              <th>listeners</th>
              <th>connectors</th>
              <th>status</th>
              <th class="num">bytes/s</th>
              <th class="num">flows/s</th>
              <th>last minutes</th>
            </tr>
          </thead>
          <tbody>
            {services.map((s) => (
              <tr key={s.routingKey} data-testid={`service-${s.routingKey}`} data-matched={String(s.matched)}>
                <td>
                  <a class="key" href={routeHref('flows', { service: s.routingKey })} title="show flows">
                    {s.routingKey}
                  </a>
                  {s.protocol && <span class="proto">{s.protocol}</span>}
                </td>
                <td data-testid="service-listeners">
                  <Endpoints list={s.listeners} name={name} reachable={reachable} />
                </td>
                <td data-testid="service-connectors">
                  <Endpoints list={s.connectors} name={name} reachable={reachable} />
                </td>
                <td>
                  <span class={`badge ${s.matched ? 'badge-ok' : 'badge-warn'}`} data-testid="service-status">
                    {s.matched ? 'matched' : 'unmatched'}
                  </span>
                </td>
                <td class="num" data-testid="service-bytes-rate">
                  {formatRate(s.bytesPerSec ?? latest?.services[s.routingKey])}
                </td>
                <td class="num" data-testid="service-flow-rate">
                  {formatCount(s.flowsPerSec, 2)}
                </td>
                <td>
                  <Sparkline samples={traffic} keyName={s.routingKey} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Endpoints({
  list,
  name,
  reachable,
}: {
  list: ServiceEndpoint[];
  name: (id: string) => string;
  reachable: Set<string>;
}) {
  if (list.length === 0) return <span class="muted">none</span>;
  return (
    <span class="chips">
      {list.map((e) => (
        <span
          key={e.site}
          class={`chip${reachable.has(e.site) ? '' : ' chip-unreachable'}`}
          data-site={e.site}
          title={`${e.site}${e.names?.length ? `: ${e.names.join(', ')}` : ''}${
            reachable.has(e.site) ? '' : ' (unreachable)'
          }`}
        >
          {name(e.site)}
          {e.count > 1 && <span class="count">×{e.count}</span>}
        </span>
      ))}
    </span>
  );
}

/** A tiny SVG line of one service's bytes/s over the traffic window. */
function Sparkline({ samples, keyName }: { samples: TrafficSample[]; keyName: string }) {
  const w = 120;
  const h = 24;
  if (samples.length < 2) return <span class="muted">–</span>;
  const values = samples.map((s) => s.services[keyName] ?? 0);
  const max = Math.max(...values, 1);
  const t0 = samples[0]!.t;
  const span = Math.max(samples[samples.length - 1]!.t - t0, 1);
  const pts = samples
    .map(
      (s, i) =>
        `${(((s.t - t0) / span) * w).toFixed(1)},${(h - 1 - (values[i]! / max) * (h - 2)).toFixed(1)}`,
    )
    .join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-hidden="true">
      <polyline points={pts} />
    </svg>
  );
}
