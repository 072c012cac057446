/** The fuzz targets: one per parser of bytes that come from a peer or a user (docs/design/security.md, "Fuzzing"). */
export const TARGETS = [
  'mux-frame',
  'mux-session',
  'control-message',
  'flow-header',
  'http1-head',
  'http2-frames',
  'udp-datagram',
  'amqp-flow',
  'resource-yaml',
  'token-file',
  'grant-request',
] as const;

export type TargetName = (typeof TARGETS)[number];

export interface TargetModule {
  fuzz(data: Buffer): void | Promise<void>;
  seeds(): Buffer[] | Promise<Buffer[]>;
}

export async function loadTarget(name: TargetName): Promise<TargetModule> {
  return (await import(`./${name}.js`)) as TargetModule;
}
