import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { layoutGraph, type Layout } from './layout.js';
import type { ConsoleState } from './store.js';
import type { LinkModel, NetworkModel, SiteModel } from './types.js';
import { formatRate, siteNamer } from './format.js';
import { routeHref } from './hooks.js';

interface View {
  k: number;
  tx: number;
  ty: number;
}

const IDENTITY: View = { k: 1, tx: 0, ty: 0 };
const PAD = 40;
const MIN_VIEW = 320;

function useLayout(network: NetworkModel | null): Layout {
  // re-layout only when the set of sites or links changes, never on state or cost changes
  const sites = network?.sites ?? [];
  const links = network?.links ?? [];
  const key =
    sites.map((s) => `${s.id}:${s.mode}`).join(',') + '|' + links.map((l) => `${l.from}>${l.to}`).join(',');
  return useMemo(
    () =>
      layoutGraph(
        sites.map((s) => ({ id: s.id, edge: s.mode === 'edge' })),
        links.map((l) => ({ from: l.from, to: l.to })),
      ),
    [key],
  );
}

export function TopologyPage({ state }: { state: ConsoleState }) {
  const { network } = state;
  const layout = useLayout(network);
  const [hovered, setHovered] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [view, setView] = useState<View>(IDENTITY);
  const svgRef = useRef<SVGSVGElement>(null);
  const drag = useRef<{ x: number; y: number; moved: boolean; view: View } | null>(null);
  const [box, setBox] = useState({ w: 1000, h: 760 });
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const ro = new ResizeObserver(() => {
      if (svg.clientWidth > 0 && svg.clientHeight > 0) setBox({ w: svg.clientWidth, h: svg.clientHeight });
    });
    ro.observe(svg);
    return () => ro.disconnect();
  }, [network === null]);

  if (!network) return <div class="empty">Loading the network model…</div>;

  const sites = network.sites;
  const links = network.links;
  const byId = new Map(sites.map((s) => [s.id, s]));
  const focus = hovered ?? selected;
  const neighbors = new Set<string>();
  if (focus) {
    neighbors.add(focus);
    for (const l of links) {
      if (l.from === focus) neighbors.add(l.to);
      if (l.to === focus) neighbors.add(l.from);
    }
  }
  const big = sites.length > 60;
  const zoomed = view.k >= 2.5;
  const showCosts = links.length <= 120 || zoomed;

  // small graphs are not blown up: the view box is at least MIN_VIEW user units
  const cx = (layout.minX + layout.maxX) / 2;
  const cy = (layout.minY + layout.maxY) / 2;
  const vbW = Math.max(layout.maxX - layout.minX + 2 * PAD, MIN_VIEW);
  const vbH = Math.max(layout.maxY - layout.minY + 2 * PAD, MIN_VIEW * 0.75);
  const viewBox = `${cx - vbW / 2} ${cy - vbH / 2} ${vbW} ${vbH}`;
  // user units per screen pixel, so nodes and labels keep a readable size at any graph extent and zoom
  const unit = Math.max(vbW / box.w, vbH / box.h) / Math.sqrt(view.k);
  const r = (big ? 5 : 9) * unit;

  const toSvg = (clientX: number, clientY: number): { x: number; y: number; scale: number } | null => {
    const svg = svgRef.current;
    const ctm = svg?.getScreenCTM();
    if (!svg || !ctm) return null;
    const inv = ctm.inverse();
    return {
      x: inv.a * clientX + inv.c * clientY + inv.e,
      y: inv.b * clientX + inv.d * clientY + inv.f,
      scale: inv.a,
    };
  };
  const zoomAt = (x: number, y: number, factor: number): void => {
    setView((v) => {
      const k = Math.min(20, Math.max(0.5, v.k * factor));
      const f = k / v.k;
      return { k, tx: x - (x - v.tx) * f, ty: y - (y - v.ty) * f };
    });
  };
  const onWheel = (e: JSX.TargetedWheelEvent<SVGSVGElement>): void => {
    const p = toSvg(e.clientX, e.clientY);
    if (!p) return;
    e.preventDefault();
    zoomAt(p.x, p.y, e.deltaY < 0 ? 1.2 : 1 / 1.2);
  };
  const onPointerDown = (e: JSX.TargetedPointerEvent<SVGSVGElement>): void => {
    drag.current = { x: e.clientX, y: e.clientY, moved: false, view };
  };
  const onPointerMove = (e: JSX.TargetedPointerEvent<SVGSVGElement>): void => {
    const d = drag.current;
    if (!d) return;
    const p = toSvg(0, 0);
    const scale = p?.scale ?? 1;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (!d.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    d.moved = true;
    setView({ k: d.view.k, tx: d.view.tx + dx * scale, ty: d.view.ty + dy * scale });
  };
  const onPointerUp = (e: JSX.TargetedPointerEvent<SVGSVGElement>): void => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved && e.target === svgRef.current) setSelected(null);
  };
  const center = { x: cx, y: cy };

  const upLinks = links.filter((l) => l.state === 'up').length;
  const edges = sites.filter((s) => s.mode === 'edge').length;
  const unreachable = sites.filter((s) => !s.reachable).length;
  const detail = focus ? byId.get(focus) : undefined;

  return (
    <div class="topo">
      <div class="topo-graph card">
        <svg
          ref={svgRef}
          data-testid="topology"
          viewBox={viewBox}
          preserveAspectRatio="xMidYMid meet"
          onWheel={onWheel}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerLeave={() => (drag.current = null)}
          class={focus ? 'has-focus' : ''}
          style={{ '--u': unit.toFixed(4) }}
        >
          <g transform={`translate(${view.tx} ${view.ty}) scale(${view.k})`}>
            <g class="links">
              {links.map((l) => {
                const a = layout.pos.get(l.from);
                const b = layout.pos.get(l.to);
                if (!a || !b) return null;
                const near = focus !== null && (l.from === focus || l.to === focus);
                return (
                  <g
                    key={l.id}
                    class={`link link-${l.state}${near ? ' near' : ''}`}
                    data-testid={`link-${l.id}`}
                    data-state={l.state}
                    data-cost={l.cost}
                  >
                    <title>{`${siteLabel(byId, l.from)} — ${siteLabel(byId, l.to)}: ${l.state}, cost ${l.cost}${
                      l.rttMs !== undefined ? `, rtt ${l.rttMs.toFixed(1)} ms` : ''
                    }`}</title>
                    <line x1={a.x} y1={a.y} x2={b.x} y2={b.y} />
                    {(showCosts || near) && (
                      <text
                        class="cost"
                        x={(a.x + b.x) / 2}
                        y={(a.y + b.y) / 2}
                        dy={-3 * unit}
                        text-anchor="middle"
                      >
                        {l.cost}
                      </text>
                    )}
                  </g>
                );
              })}
            </g>
            <g class="sites">
              {sites.map((s) => {
                const p = layout.pos.get(s.id);
                if (!p) return null;
                const cls = [
                  'site',
                  `site-${s.mode}`,
                  s.reachable ? 'reachable' : 'unreachable',
                  s.id === network.observedBy ? 'observer' : '',
                  neighbors.has(s.id) ? 'near' : '',
                  s.id === selected ? 'selected' : '',
                ].join(' ');
                const showLabel = !big || zoomed || neighbors.has(s.id);
                return (
                  <g
                    key={s.id}
                    class={cls}
                    transform={`translate(${p.x} ${p.y})`}
                    data-testid={`site-${s.id}`}
                    data-mode={s.mode}
                    data-reachable={String(s.reachable)}
                    onMouseEnter={() => setHovered(s.id)}
                    onMouseLeave={() => setHovered(null)}
                    onClick={() => setSelected(s.id === selected ? null : s.id)}
                  >
                    {s.id === network.observedBy && <circle class="observer-ring" r={r + 4 * unit} />}
                    {s.mode === 'edge' ? (
                      <rect
                        x={-r * 0.7}
                        y={-r * 0.7}
                        width={r * 1.4}
                        height={r * 1.4}
                        transform="rotate(45)"
                      />
                    ) : (
                      <circle r={r} />
                    )}
                    {showLabel && (
                      <text y={r + 12 * unit} text-anchor="middle">
                        {s.name}
                      </text>
                    )}
                  </g>
                );
              })}
            </g>
          </g>
        </svg>
        <div class="zoom">
          <button type="button" title="zoom in" onClick={() => zoomAt(center.x, center.y, 1.5)}>
            +
          </button>
          <button type="button" title="zoom out" onClick={() => zoomAt(center.x, center.y, 1 / 1.5)}>
            −
          </button>
          <button type="button" title="reset view" onClick={() => setView(IDENTITY)}>
            ⟲
          </button>
        </div>
        <div class="legend">
          <span>
            <svg width="14" height="14" viewBox="-7 -7 14 14" class="site site-interior">
              <circle r="5" />
            </svg>
            interior
          </span>
          <span>
            <svg width="14" height="14" viewBox="-7 -7 14 14" class="site site-edge">
              <rect x="-3.5" y="-3.5" width="7" height="7" transform="rotate(45)" />
            </svg>
            edge
          </span>
          <span>
            <svg width="22" height="8" class="link link-up">
              <line x1="0" y1="4" x2="22" y2="4" />
            </svg>
            link up
          </span>
          <span>
            <svg width="22" height="8" class="link link-down">
              <line x1="0" y1="4" x2="22" y2="4" />
            </svg>
            link down
          </span>
        </div>
      </div>
      <aside class="topo-side">
        <section class="card" data-testid="topology-summary">
          <h3>Network</h3>
          <dl class="kv">
            <dt>sites</dt>
            <dd data-testid="site-count">{sites.length}</dd>
            <dt>interior / edge</dt>
            <dd>
              {sites.length - edges} / {edges}
            </dd>
            <dt>unreachable</dt>
            <dd class={unreachable > 0 ? 'bad' : ''}>{unreachable}</dd>
            <dt>links up</dt>
            <dd data-testid="links-up">
              {upLinks} / {links.length}
            </dd>
            <dt>services</dt>
            <dd>{network.services.length}</dd>
          </dl>
        </section>
        {detail ? (
          <SiteDetails site={detail} network={network} pinned={detail.id === selected} />
        ) : (
          <section class="card hint">
            Hover over a site for details; click to pin it. Scroll to zoom, drag to pan.
          </section>
        )}
      </aside>
    </div>
  );
}

function siteLabel(byId: Map<string, SiteModel>, id: string): string {
  return byId.get(id)?.name ?? id;
}

function SiteDetails({ site, network, pinned }: { site: SiteModel; network: NetworkModel; pinned: boolean }) {
  const name = siteNamer(network.sites);
  const links: LinkModel[] = network.links.filter((l) => l.from === site.id || l.to === site.id);
  const listeners = network.services.filter((s) => s.listeners.some((e) => e.site === site.id));
  const connectors = network.services.filter((s) => s.connectors.some((e) => e.site === site.id));
  const out = network.traffic.filter((t) => t.from === site.id).reduce((a, t) => a + t.bytesPerSec, 0);
  const inb = network.traffic.filter((t) => t.to === site.id).reduce((a, t) => a + t.bytesPerSec, 0);
  return (
    <section class="card details" data-testid="site-details" data-site={site.id}>
      <h3>
        {site.name} {pinned && <span class="pin">pinned</span>}
      </h3>
      <dl class="kv">
        <dt>router id</dt>
        <dd>{site.id}</dd>
        <dt>mode</dt>
        <dd data-testid="detail-mode">{site.mode}</dd>
        <dt>platform</dt>
        <dd data-testid="detail-platform">{site.platform}</dd>
        <dt>version</dt>
        <dd data-testid="detail-version">{site.version}</dd>
        <dt>reachable</dt>
        <dd class={site.reachable ? 'ok' : 'bad'}>{site.reachable ? 'yes' : 'no'}</dd>
        <dt>traffic out / in</dt>
        <dd>
          {formatRate(out)} / {formatRate(inb)}
        </dd>
      </dl>
      <h4>Links ({links.length})</h4>
      <ul class="plain">
        {links.map((l) => (
          <li key={l.id}>
            <span class={`state state-${l.state}`}>{l.state}</span> {name(l.from === site.id ? l.to : l.from)}{' '}
            · cost {l.cost}
            {l.rttMs !== undefined && ` · ${l.rttMs.toFixed(1)} ms`}
          </li>
        ))}
      </ul>
      {(listeners.length > 0 || connectors.length > 0) && (
        <>
          <h4>Services</h4>
          <ul class="plain">
            {listeners.map((s) => (
              <li key={`l-${s.routingKey}`}>
                listener{' '}
                <a href={routeHref('flows', { service: s.routingKey, site: site.id })}>{s.routingKey}</a>
              </li>
            ))}
            {connectors.map((s) => (
              <li key={`c-${s.routingKey}`}>
                connector{' '}
                <a href={routeHref('flows', { service: s.routingKey, site: site.id })}>{s.routingKey}</a>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
